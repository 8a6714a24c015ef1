"""The WSGI core: one request's journey through the middleware.

1. **Script.** Paths under ``script_prefix`` are the client script's (``client``); a
   ``WebResource.axd`` the app answers 404 gets the WebForms.js functions
   (``aspnet.resources``).
2. **Request side.** A form POST (urlencoded or multipart) is read and scanned (``body``). If it
   carries reserved fields it is a postback: the browser must say it came from this site, and
   the tokens must have been issued to this browser or user (``csrf``); the fields are verified
   before anything else (``form_tokens``, ``tokens``, ``validation``) and cut out, and the inner
   app gets a fresh body with every other byte unchanged (with ``forward_event_fields``, plus the
   verified event as ``__EVENTTARGET`` / ``__EVENTARGUMENT``, for code ported from WebForms that
   reads them from the form). A reserved name in the query string is refused on any request.
   A form left open sends its tokens to be renewed (``X-Postback-Renew``): answered here with
   fresh ones, the app not called.
   With ``validate_choices``, a posted select or radio value the form did not offer is
   refused (``validation``, from what ``choices`` recorded).
3. **Dispatch.** With ``single_use``, a verified postback spends its form in the store first
   (``single_use``): a duplicate gets the first answer, anything else sent again a 409.
   A callback is answered here from the registry and never reaches the inner app.
   A postback exposes ``environ["postback.event"]`` and ``environ["postback.viewstate"]``, runs
   the registered postback handler if any (``registry``), then the inner app. A partial
   postback is answered with just its panels (``partial``).
4. **Response side.** HTML pages get the hidden fields and the script tag (``response`` decides
   and fixes headers, ``inject`` edits the page, ``form_tokens`` issues the tokens, with the
   view state the app left in the environ); a partial postback's page goes on to ``partial``.
   Tokens are bound to the browser's cookie (set on the first page that needs it) or to the
   operator's user key, so such a page is made ``private`` to caches.

Every refusal is a :class:`~postback_middleware.errors.Rejected`: logged at WARNING with the
reason, path and client address, answered by ``refusal`` through the request's own channel.
Nothing the middleware does wrong reaches the client as a traceback. An app wrapped twice is
refused at start-up; a second middleware met inside the first at run time (a sub-app wrapped
again, under a dispatcher) steps aside where the first protects as much, and answers 500 where
it would lose options that protect more.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes, urlsplit
from wsgiref.util import request_uri

from webob import Request

from . import fields as f
from . import partial, refusal
from .aspnet import ajax, resources
from .body import (
    BodyScan,
    add_fields,
    assemble,
    field_values,
    form_kind,
    multipart_boundary,
    names_charset,
    read_body,
    scan_multipart,
    scan_urlencoded,
)
from .charset import form_encoding
from .client import ClientScript, connect_blocked, script_nonce
from .config import Options, check_call
from .csrf import Browser, check_site, parse_origin, read_browser
from .errors import (
    AlreadySent,
    BadRequest,
    CallbackError,
    ConfigurationError,
    Forbidden,
    InvalidType,
    Reason,
    Rejected,
    StateTooLarge,
    StoreUnavailable,
    WrongBinding,
)
from .form_tokens import Callback, FormTokens, Postback, Renewal, Verified, split_reserved
from .html_scan import ENGINES, Engine, page_engine
from .http import (
    ClosingIterable,
    Headers,
    callback_reply,
    header,
    header_values,
    is_number,
    json_response,
    origin_of,
    private_headers,
    text_response,
    without_query,
)
from .inject import FieldInjector, PostForm
from .once import Once
from .page_tokens import RunShape
from .refusal import REFUSAL_KEY
from .registry import Registry, page_callback_key
from .response import Page, edit_response, limit_accept_encoding
from .server_state import ServerViewState, StateKeys
from .single_use import Answer, Claim, SingleUse, what_was_sent
from .tokens import PageSigning, TokenSigner

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from .page_tokens import Pairs, SharedToken

log = logging.getLogger("postback_middleware")

EVENT_KEY = "postback.event"
VIEWSTATE_KEY = "postback.viewstate"
RENEW_ENVIRON_KEY = "HTTP_X_POSTBACK_RENEW"  # a form's tokens sent to be renewed
_WRAPPED_KEY = "postback.middleware"  # set while one calls the app below it
CALLBACK_FAILED = "The server could not complete the callback."


class PostbackMiddleware:
    """Wrap ``app`` with postbacks, callbacks and signed view state.

    The options are keyword arguments, each described on :class:`~postback_middleware.config.
    Options` (``secret_keys`` is required: the first key signs, every key verifies); a name that
    is no option is refused with the list of those that are. ``options`` may instead be an
    ``Options`` made beforehand (typed, checked where it is made). Handlers come from
    ``registry`` and/or the ``callbacks`` / ``postbacks`` options.
    """

    def __init__(
        self,
        app: WSGIApplication,
        *,
        registry: Registry | None = None,
        options: Options | None = None,
        **keywords: Any,
    ) -> None:
        if not callable(app):
            raise ConfigurationError(
                f"app must be a WSGI application (called as app(environ, start_response)), not "
                f"{type(app).__name__}")
        check_call("app", app, "app(environ, start_response)")  # (a factory not called?)
        if registry is not None and not isinstance(registry, Registry):
            raise ConfigurationError(
                f"registry must be a Registry (or None), not {type(registry).__name__}: "
                "Registry(), then its add_callback and add_postback")
        if options is not None and not isinstance(options, Options):
            raise ConfigurationError(
                f"options must be an Options (or None), not {type(options).__name__}: "
                "Options(secret_keys=[...], ...), or the options as keywords")
        if isinstance(app, PostbackMiddleware):
            raise ConfigurationError(
                "the app is already wrapped in a PostbackMiddleware: wrap it once, with all "
                "the options and handlers on that one (an app factory run twice on the same "
                "app wraps it again)")
        if options is not None and keywords:
            raise ConfigurationError(
                "give the options either as an Options or as keywords, not both: "
                f"{', '.join(sorted(keywords))}"
            )
        self.app = app
        self.options = options if options is not None else Options.from_keywords(keywords)
        self._trusted_origins = frozenset(map(parse_origin, self.options.trusted_origins))
        self.registry = registry if registry is not None else Registry()
        self.registry.update(callbacks=self.options.callbacks, postbacks=self.options.postbacks)
        self.signer = TokenSigner(self.options.keys, max_age=self.options.max_age,
                                  max_size=self.options.max_state_size)
        store = self.options.shared_store
        # View states kept in the store (server_viewstate) are read back whenever there is one,
        # so switching the option off breaks no form already open.
        self.server_state = None if store is None else ServerViewState(
            store, max_age=self.options.max_age, renewal_window=self.options.renewal_window,
            max_size=self.options.max_state_size, clock=self.signer.now,
            secret=self.options.keys[0])
        self.form_tokens = FormTokens(self.signer, server_state=self.server_state,
                                      keep_large_validation=self.options.server_viewstate)
        self.single_use = None if store is None else SingleUse(
            store, max_age=self.options.max_age, renewal_window=self.options.renewal_window,
            clock=self.signer.now)
        self.replayer = partial.Replayer(self.signer, max_body_size=self.options.max_body_size)
        self.script = ClientScript(
            self.options.script_prefix,
            max_age=self.options.max_age if self.options.renewal_window else None,
            aspnet_ajax=self.options.aspnet_ajax)
        self._warned_nested = False
        self._warned = Once()  # (kind, path): warned about already (see _warn_once)
        # Which scanner engine reads UTF-8 pages: "compiled" (built at install when a C
        # compiler was there) or "python", the same results about 50 times slower.
        self.scanner_engine: Engine = page_engine()
        _say_once_which_engine(self.scanner_engine)
        if self.options.validate_choices and not self.options.require_token:
            log.warning("validate_choices checks postbacks; a form POST without tokens reaches "
                        "the app unchecked unless require_token is on")

    # -- the journey ---------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(self.options.script_prefix):
            return self.script.serve(environ, start_response)
        if resources.is_web_resource(environ):  # the app's 404 becomes WebForms.js's functions
            return resources.web_resource(environ, start_response, self)
        outer: Options | None = environ.get(_WRAPPED_KEY)
        if outer is not None:
            # Inside another PostbackMiddleware (a mounted sub-app wrapped again, under a
            # dispatcher): the outer one verified and strips the request and edits the page; a
            # second set of fields would break every form. Step aside, where the outer one
            # protects as much; else refuse (this one's stricter options would be dropped).
            weaker = outer.protects_less_than(self.options)
            if not self._warned_nested:
                self._warned_nested = True
                if weaker:
                    log.error("a PostbackMiddleware runs inside another one (for %r) that "
                              "protects less (%s): answering 500; wrap the app once, at the "
                              "outside, with these options", _request_path(environ)[:200],
                              ", ".join(weaker))
                else:
                    log.warning("a PostbackMiddleware runs inside another one (for %r): the "
                                "inner one passes requests through and its handlers do not run; "
                                "wrap the app once, at the outside", _request_path(environ)[:200])
            if weaker:
                return text_response(start_response, "500 Internal Server Error",
                                     "Internal Server Error")
            return self.app(environ, start_response)
        # Set while the app is called (not after: a forwarder outside may call again).
        environ[_WRAPPED_KEY] = self.options
        try:
            return self._handle(environ, start_response)
        finally:
            environ.pop(_WRAPPED_KEY, None)

    def _handle(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        environ[EVENT_KEY] = None
        environ[VIEWSTATE_KEY] = {}
        browser = read_browser(environ)
        if environ.get("REQUEST_METHOD") != "POST" and not _has_body(environ):
            # No body (a GET, a HEAD): no postback, replay, renewal or async postback to read,
            # nothing to spend; only the query string is checked. (The path below, in short.)
            try:
                _refuse_reserved_query(environ.get("QUERY_STRING", ""))
            except Rejected as rejection:
                return self._refuse(environ, start_response, rejection, callback=False)
            except Exception:
                return _request_failed(start_response)
            return self._dispatch(environ, start_response, None, None, browser)
        body_file = None
        values = None
        # Microsoft's ASP.NET AJAX client: answered in its delta format (``aspnet.ajax``).
        async_postback = (self.options.aspnet_ajax and environ.get("REQUEST_METHOD") == "POST"
                          and ajax.is_async(environ))
        manager_value = None
        try:
            if partial.is_replay(environ):  # a partial postback's answer, as a navigation
                return self._replay(environ, start_response, browser)
            _refuse_reserved_query(environ.get("QUERY_STRING", ""))
            form = self._read_form_post(environ, async_postback=async_postback)
            later = None
            if form is not None:
                body_file, values, scan, later = form
                async_postback = async_postback or scan.manager_field is not None
            if async_postback:
                manager_value = _async_postback(values, scan if form is not None else None)
            renewed = verified = panels = None
            if values is not None and environ.get(RENEW_ENVIRON_KEY) is not None:
                renewed = self._renew(environ, values, browser)  # a form left open: fresh tokens
            elif values is not None:
                verified = self._verify(environ, values, browser, later)
                self._check_choices(environ, body_file, scan, verified)  # (callbacks too)
                if isinstance(verified, Postback):
                    self._forward_event(environ, body_file, scan, verified)
                    # A partial postback (an UpdatePanel) names the panels to answer with.
                    panels = partial.requested_panels(environ)
            # Spent here, once every check passed (single_use): or its first answer, again.
            claim = self._spend(environ, renewed or verified, body_file,
                                scan.boundary if form is not None else b"", manager_value)
            if isinstance(claim, Answer):
                if body_file is not None:
                    body_file.close()
                log.info("a duplicate of a postback to %r gets its first answer",
                         _request_path(environ)[:200])
                return claim.send(start_response)
        except Rejected as rejection:
            if body_file is not None:
                body_file.close()
            is_callback = values is not None and f.CALLBACKID in values
            return self._refuse(environ, start_response, rejection, callback=is_callback,
                                async_postback=async_postback)
        except Exception:
            # A bug of ours must not reach the client as a traceback (nor the app unverified).
            if body_file is not None:
                body_file.close()
            return _request_failed(start_response)

        def respond(start_response: StartResponse) -> Iterable[bytes]:
            if renewed is not None:
                return json_response(start_response, {"version": 1, "fields": renewed.fields},
                                     [("X-Content-Type-Options", "nosniff")])
            if isinstance(verified, Callback):
                return self._answer_callback(environ, start_response, verified)
            return self._dispatch(environ, start_response, verified, panels, browser,
                                  manager_value)

        response: Iterable[bytes]
        try:
            if claim is not None:
                assert self.single_use is not None  # (what claimed it)
                response = self.single_use.record(claim, respond, start_response)
            else:
                response = respond(start_response)
        except BaseException:
            if body_file is not None:  # the inner app raised: its body file is ours to close
                body_file.close()
            raise
        if body_file is None:
            return response
        return ClosingIterable(response, body_file.close)

    def _read_form_post(
        self, environ: WSGIEnvironment, *, async_postback: bool = False
    ) -> tuple[Any, dict[str, str] | None, BodyScan, list[tuple[str, bytes]] | None] | None:
        """Read a form POST; hand the inner app a clean body. Returns (body file, reserved,
        scan, the reserved fields read once the tokens name their form's encoding: see
        ``form_tokens.split_reserved``).

        A form body sent with another method (PUT, PATCH, DELETE, a lower-case ``post``...) is
        scanned too, since parsers read it as a form: reserved fields there are refused, as
        no postback comes that way. (Such a request comes here only with a body: ``_handle``
        asked ``_has_body``, which may have read a byte of it, once.)
        """
        method = environ.get("REQUEST_METHOD", "")
        content_type = environ.get("CONTENT_TYPE", "")
        options = self.options
        kind = form_kind(environ)
        if kind is None:
            if method == "POST" and options.require_token and not content_type.strip():
                raise Forbidden("form POST (empty Content-Type) without a token",
                                kind=Reason.MISSING_TOKEN)
            return None
        boundary = multipart_boundary(content_type) if kind == "multipart" else ""
        body, length = read_body(
            environ, max_body_size=options.max_body_size, spool_threshold=options.spool_threshold
        )
        try:
            if boundary:
                scan = scan_multipart(body, length, boundary, max_field_size=options.max_state_size,
                                      max_fields=options.max_form_fields)
            else:
                scan = scan_urlencoded(body, length, max_field_size=options.max_state_size,
                                       max_fields=options.max_form_fields,
                                       manager_field=async_postback)
            if scan.is_postback and method != "POST":
                raise BadRequest(f"reserved fields in a {method[:20]!r} body")
            # Read as UTF-8 throughout: a request that names its charset (UTF-8: check_form_headers
            # let no other by), and htmx's, which sends UTF-8 (encodeURIComponent, FormData)
            # whatever the page's charset and names none. (UTF-8 is all a request can choose.)
            utf8 = names_charset(content_type) or _is_htmx(environ)
            values, later = (split_reserved(scan.reserved, utf8=utf8) if scan.is_postback
                             else (None, None))
            if (values is not None and not async_postback and options.aspnet_ajax
                    and values.get(f.ASYNCPOST, "").strip() == "true" and not boundary):
                # Microsoft's client, recognised by its field (it sends the header too): read
                # again, its first field being the ScriptManager's (see aspnet.ajax).
                body.seek(0)
                scan = scan_urlencoded(body, length, max_field_size=options.max_state_size,
                                       max_fields=options.max_form_fields, manager_field=True)
                values, later = split_reserved(scan.reserved, utf8=utf8)
            if values is None and options.require_token and method == "POST":
                raise Forbidden("form POST without a token", kind=Reason.MISSING_TOKEN)
            if scan.is_postback:
                body, length = assemble(body, scan, spool_threshold=options.spool_threshold)
        except BaseException:
            body.close()
            raise
        body.seek(0)
        environ["wsgi.input"] = body
        environ["CONTENT_LENGTH"] = str(length)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return body, values, scan, later

    def _verify(
        self, environ: WSGIEnvironment, values: dict[str, str], browser: Browser,
        later: list[tuple[str, bytes]] | None = None,
    ) -> Postback | Callback:
        # Who sent it first: a page of another site never gets as far as the tokens.
        check_site(environ, self._trusted_origins)
        binding = self._binding(environ, browser)
        if binding == browser.binding and browser.ambiguous:
            browser.check_sent()  # two cookies of ours: one may be planted, trust neither
        try:
            verified = self.form_tokens.verify(values, path=_request_path(environ),
                                               binding=binding, later=later)
        except WrongBinding:
            if binding == browser.binding:
                browser.check_sent()  # no cookie: say so, rather than "another browser"
            raise
        environ[VIEWSTATE_KEY] = verified.viewstate
        if isinstance(verified, Postback):
            environ[EVENT_KEY] = verified.event
        return verified

    def _spend(self, environ: WSGIEnvironment, request: Renewal | Postback | Callback | None,
               body: Any, boundary: bytes, manager_value: str | None = None
               ) -> Claim | Answer | None:
        """``single_use``: claim a verified postback's (or renewal's) form, or get the answer
        of the request that claimed it first; ``single_use_callbacks``: spend the event
        validation a renewal sent, without ``single_use`` (a callback's is spent once it is
        known to be offered: see ``_answer_callback``). None when nothing is claimed."""
        single_use, options = self.single_use, self.options
        if single_use is None or request is None:
            return None
        # (A renewal claims its form when single_use is on, which spends every token of it;
        # spending its token first would refuse its duplicate rather than give it the answer:
        # it is asked whether a callback spent it, claims, and then spends it, so that no
        # callback runs on it afterwards.)
        renewal = isinstance(request, Renewal)
        if options.single_use_callbacks and renewal and not options.single_use:
            single_use.spend_token(request.signature, issued_at=request.issued_at,
                                   first_issued=request.first_issued)
        if not options.single_use or isinstance(request, Callback):
            return None
        if options.single_use_callbacks and renewal:
            single_use.refuse_spent_token(request.signature)
        # What the request sent, so that only a duplicate sending the same gets the answer.
        sent = "renew" if isinstance(request, Renewal) else what_was_sent(
            environ, request.event, body, boundary, async_postback=manager_value)
        claim = single_use.claim(request.form_id, request=sent, issued_at=request.issued_at,
                                 first_issued=request.first_issued)
        if options.single_use_callbacks and renewal and isinstance(claim, Claim):
            # (a callback that spent it meanwhile ran once: the form is claimed all the same)
            with contextlib.suppress(AlreadySent):
                single_use.spend_token(request.signature, issued_at=request.issued_at,
                                       first_issued=request.first_issued, by_renewal=True)
        return claim

    def _check_choices(
        self, environ: WSGIEnvironment, body: Any, scan: BodyScan, verified: Verified
    ) -> None:
        """``validate_choices``: refuse a value of a select or radio group that the form did
        not offer (its event validation lists them; see ``choices``), in a postback or in a
        callback (which posts the form's fields, as ASP.NET's do: its handler reads them).
        Read in the encoding the request was read in (its form's, for a browser's own
        submission: as the inner app reads a body that names no charset)."""
        names = verified.offered.choice_names
        if not names:
            return  # (the form was issued without the option: nothing to check)
        posted = field_values(body, int(environ["CONTENT_LENGTH"]),
                              scan.boundary.decode("utf-8"), names,
                              max_field_size=self.options.max_state_size,
                              encoding=verified.encoding)
        verified.offered.check_choices(posted)

    def _forward_event(
        self, environ: WSGIEnvironment, body: Any, scan: BodyScan, postback: Postback
    ) -> None:
        """``forward_event_fields``: add the verified event to the clean body as the fields
        ``__EVENTTARGET`` and ``__EVENTARGUMENT`` (``body.add_fields``), for code ported from
        WebForms that reads them from the form. Only for a verified postback with an event: a
        postback without one (empty target) gets no fields, as callbacks and renewals don't.
        Encoded as the body's own fields are (its form's encoding, for a browser's own
        submission), so the inner app reads them as it reads the others."""
        event = postback.event
        if not self.options.forward_event_fields or event is None:
            return
        length = add_fields(body, scan, [(f.EVENTTARGET, event.target),
                                         (f.EVENTARGUMENT, event.argument)],
                            encoding=postback.encoding)
        body.seek(0)
        environ["CONTENT_LENGTH"] = str(length)

    def _dispatch(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        postback: Postback | None,
        panels: partial.PanelRequest | None,
        browser: Browser,
        manager_value: str | None = None,
    ) -> Iterable[bytes]:
        app: WSGIApplication = self.app
        if postback is not None and postback.event is not None:
            body, length = environ.get("wsgi.input"), environ.get("CONTENT_LENGTH")
            # (What the handler raises propagates, as the inner app's own exceptions do.)
            response = self.registry.run_postback(postback.event, Request(environ))
            if response is not None:
                app = response
            # A handler that read the form (request.POST) leaves the app the same body, whole.
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = body, length
            if body is not None:
                body.seek(0)
        limit_accept_encoding(environ)
        client_fields = postback.client_fields if postback is not None else {}
        issuer = _Issuer(self, environ, browser)

        def make_editor(page: Page) -> FieldInjector:
            return self._injector(environ, page, client_fields, issuer, panels=panels or ())

        if manager_value is not None:  # Microsoft's client: the delta format (aspnet.ajax)
            return ajax.answer(
                lambda start: app(environ, start), start_response,
                page_url=_page_url(environ), manager_value=manager_value, environ=environ,
                make_editor=make_editor, bound_headers=issuer.bound_headers,
            )
        if panels:  # a partial postback: the page's last stage cuts the panels out
            replay = self.replayer.issuer(
                path=_request_path(environ),
                binding=lambda: self._binding(environ, browser),  # asked after the app ran
            )
            return partial.answer(
                lambda start: app(environ, start), start_response,
                page_url=_page_url(environ), panels=panels, replay=replay, environ=environ,
                make_editor=make_editor, bound_headers=issuer.bound_headers,
            )
        return edit_response(app, environ, start_response, make_editor,
                             bound_headers=issuer.bound_headers)

    def _renew(
        self, environ: WSGIEnvironment, values: dict[str, str], browser: Browser
    ) -> Renewal:
        """Fresh tokens for a form left open (``X-Postback-Renew``; see ``form_tokens``): the
        same site and cookie checks as a postback, then the tokens, within renewal_window."""
        check_site(environ, self._trusted_origins)
        return self.form_tokens.renew(values, path=_request_path(environ),
                                      binding=self._sender(environ, browser),
                                      window=self.options.renewal_window)

    def _replay(
        self, environ: WSGIEnvironment, start_response: StartResponse, browser: Browser
    ) -> Iterable[bytes]:
        """Serve a replay (``partial.Replayer``): checked like any postback, the app not run."""
        return self.replayer.serve(environ, start_response, path=_request_path(environ),
                                   binding=self._sender(environ, browser))

    def _sender(self, environ: WSGIEnvironment, browser: Browser) -> str:
        """The binding of a request that must come from the browser or user its tokens were
        issued to (a renewal, a replay): bound to the browser, it must send its one cookie."""
        binding = self._binding(environ, browser)
        if binding == browser.binding:
            browser.check_sent()
        return binding

    def _injector(
        self,
        environ: WSGIEnvironment,
        page: Page,
        client_fields: dict[str, str],
        issuer: _Issuer,
        panels: Collection[str] = (),
    ) -> FieldInjector:
        """The page editor for this response; tokens are signed when a form's pairs are known.

        A piece of a page asked for by htmx (``HX-Request``) gets no script tag and no ids (the
        page it goes into has them), and its forms' URLs resolve against that page's URL. A
        partial postback's editor also finds its ``panels`` (ids) as it scans.
        """
        fragment = _is_htmx(environ)
        page_url = _page_url(environ)
        tag = b""
        if not fragment:
            # The script's URL names this host ("//host/..."): a <base href> the page has
            # before the tag cannot send the browser (and the page's CSP nonce) to another
            # origin's script.
            tag = self.script.tag(_host_of(page_url) + environ.get("SCRIPT_NAME", ""),
                                  self._nonce(environ, page))
        # The encoding the page's forms are submitted in (the injector gives a form with an
        # accept-charset its own): their tokens record it, a page token for all of them.
        submitted = form_encoding(page.charset)
        return FieldInjector(
            page_url=_document_url(environ, page_url=page_url, htmx=fragment),
            encoding=page.charset,
            sign_forms=functools.partial(issuer.sign_forms, encoding=submitted),
            sign_bare=functools.partial(issuer.sign_bare, encoding=submitted),
            script_tag=tag,
            client_fields=client_fields if self.options.maintain_scroll_position else None,
            fragment=fragment,
            choices=self.options.validate_choices,
            panels=panels,
        )

    def _nonce(self, environ: WSGIEnvironment, page: Page) -> str | None:
        """The nonce for the page's script tag, from all its CSP headers (a second header, or
        policies joined by commas, count as much as the first: see ``client.script_nonce``).
        When the page's policies leave the script no nonce, a warning (once per path)."""
        if (page.header("content-security-policy") is None
                and page.header("content-security-policy-report-only") is None):
            return None  # (the usual page: no list made)
        choice = script_nonce(header_values(page.headers, "content-security-policy"),
                              header_values(page.headers, "content-security-policy-report-only"))
        if choice.conflict:
            self._warn_once(
                "nonce", environ,
                "no one nonce passes every Content-Security-Policy of %r (their script "
                "policies name different nonces, or one names none): the client script is "
                "blocked there, and so are its postback elements, callbacks and renewals; "
                "give every policy the page's nonce")
        return choice.nonce

    def _check_connect(self, environ: WSGIEnvironment, headers: Headers) -> None:
        """Warn (once per path) when a page with tokens forbids every connection: its forms
        cannot be renewed, and its callbacks and partial postbacks fail (all are fetch()es to
        this origin). Only when the headers say so for certain (``client.connect_blocked``);
        an htmx piece's policy does not apply to the page it goes into."""
        if _is_htmx(environ) or header(headers, "content-security-policy") is None:
            return
        blocking = connect_blocked(header_values(headers, "content-security-policy"))
        if blocking is not None:
            self._warn_once(
                "connect", environ,
                "the Content-Security-Policy of %r says %r: the client script cannot reach "
                "this site, so a form left open past max_age is refused instead of renewed, "
                "and callbacks and partial postbacks fail; add connect-src 'self'",
                blocking[:200])

    def _warn_once(self, kind: str, environ: WSGIEnvironment, message: str, *args: str
                   ) -> None:
        """Log ``message`` (its first ``%r``: the request's path, then ``args``) at WARNING,
        once per path and ``kind``: a page's headers say the same on every request, the log
        should not."""
        path = _request_path(environ)[:200]
        if self._warned.first((kind, path)):
            log.warning(message, path, *args)

    # -- callbacks -------------------------------------------------------------------------

    def _answer_callback(
        self, environ: WSGIEnvironment, start_response: StartResponse, callback: Callback
    ) -> Iterable[bytes]:
        name, argument = callback.name, callback.argument
        registry, offered = self.registry, callback.offered
        # The page's own callback (its path: where the tokens are bound, verified), else one
        # of every page that the form's data-callbacks listed.
        path = _request_path(environ)
        page: str | None = path
        if not (registry.has_callback(name, path)
                and offered.allows_callback(page_callback_key(path, name))):
            page = None
        refusal: Rejected | None = None
        if page is None and not registry.has_callback(name):
            refusal = Forbidden(f"no callback named {name[:80]!r}")
        elif page is None and not offered.allows_callback(name):
            refusal = Forbidden(f"callback {name[:80]!r} is not offered by the form")
        spent = self.options.single_use_callbacks
        if refusal is None and spent:  # (an offered callback: spent now, before it runs)
            assert self.single_use is not None  # (the option needs a store)
            try:
                self.single_use.spend_token(callback.signature, issued_at=callback.issued_at,
                                            first_issued=callback.first_issued)
            except Rejected as rejection:
                refusal = rejection
        if refusal is not None:
            return self._refuse(environ, start_response, refusal, callback=True)
        try:
            result = self.registry.run_callback(name, argument, Request(environ), page)
        except Exception as error:
            if isinstance(error, CallbackError):
                status, message = "200 OK", error.message
            else:
                log.exception("callback %r failed", name)
                status, message = "500 Internal Server Error", CALLBACK_FAILED
            # The ``e`` framing has no room for a token: a spent one's successor travels in a
            # header, so the page's next callback is not refused (the client script reads it).
            headers = [("X-Postback-Validation", self.form_tokens.refresh(
                callback, path=path))] if spent else []
            return callback_reply(start_response, status, "e" + message, headers)
        # A fresh event validation, so a page that stays open keeps working past max_age.
        validation = self.form_tokens.refresh(callback, path=path)
        return callback_reply(start_response, "200 OK", f"{len(validation)}|{validation}{result}")

    # -- refusals -------------------------------------------------------------------------

    def _refuse(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        rejection: Rejected,
        *,
        callback: bool,
        async_postback: bool = False,
    ) -> Iterable[bytes]:
        # Every value in repr form: a %0A in a path cannot forge a log line.
        log.warning(
            "refused %r %r from %r: %r (%d)",
            environ.get("REQUEST_METHOD"),
            _request_path(environ)[:200],
            environ.get("REMOTE_ADDR", "-"),
            rejection.reason,
            rejection.status,
        )
        environ[REFUSAL_KEY] = rejection
        if self.options.on_reject is not None:
            try:
                self.options.on_reject(environ, rejection.kind)
            except Exception:
                log.exception("on_reject hook failed")
        return refusal.answer(environ, start_response, rejection, callback=callback,
                              render=self.options.render_refusal, async_postback=async_postback)

    def _binding(self, environ: WSGIEnvironment, browser: Browser) -> str:
        """Who tokens are bound to: the operator's user, else this browser (see ``csrf``). An
        empty user is none (``environ.get("REMOTE_USER", "")``: bound to it, every anonymous
        visitor's tokens would be every other's)."""
        user_key = self.options.user_key
        if user_key is not None:
            user = user_key(environ)
            if user is not None:
                if not isinstance(user, str):
                    raise InvalidType(f"user_key must return a str or None, not {type(user)}")
                if user:
                    return "user:" + user
        return browser.binding


class _Issuer:
    """Signs one response's forms, and finishes the headers of a page that got tokens."""

    def __init__(
        self, middleware: PostbackMiddleware, environ: WSGIEnvironment, browser: Browser
    ) -> None:
        self._middleware = middleware
        self._environ = environ
        self._browser = browser
        server_state = middleware.server_state
        self._state_keys = (StateKeys(server_state) if server_state is not None
                            and middleware.options.server_viewstate else None)
        # Made once a page, not once a form (a page may have 150): what signs for the binding
        # (remade if it changes), and the binding itself when it is the browser's, which
        # cannot change (without user_key: its id is fixed once made).
        self._page: PageSigning | None = None
        self._browser_binding: str | None = None
        # The shape of the last run of bare forms described: a streamed page's next piece,
        # whose forms mostly continue it, is described without finding it again.
        self._last_run = RunShape()

    def sign_forms(self, forms: list[PostForm], *, encoding: str | None = None
                   ) -> list[tuple[str, str]]:
        """The view state and event validation of each of ``forms`` (the post forms whose
        tokens one piece of the page writes; ("", "") where they cannot be made): plain forms
        share a page token (see ``page_tokens``) when submitted in the page's ``encoding``
        (``charset.form_encoding``)."""
        try:
            state, binding, page = self._signing()
            return self._middleware.form_tokens.issue_forms(
                forms, state, binding, self._middleware.registry.page_callbacks, page,
                encoding=encoding)
        except StoreUnavailable as error:
            # The page is shown all the same; these forms get no tokens, so their postbacks
            # are refused (closed, like a form too large to sign) until the store answers.
            log.error("server_viewstate: the store could not keep a form's state (%s); %d "
                      "forms posting to %r... get no tokens", error.reason, len(forms),
                      forms[0].action_path[:200])
            return [("", "")] * len(forms)
        except StateTooLarge as error:
            # As a form whose event validation does not fit: the page is shown, these forms
            # get no tokens (their postbacks are refused), and the log says why.
            log.warning("%s: %d forms posting to %r... get no tokens (keep less in the view "
                        "state, or raise max_state_size)", error, len(forms),
                        forms[0].action_path[:200])
            return [("", "")] * len(forms)

    def sign_bare(self, forms: Sequence[tuple[str, Pairs]], keyed: bool, *,
                  encoding: str | None = None) -> SharedToken | None:
        """The page token of a piece's bare forms (each its path and events; its indices
        ``keyed``: see ``FormTokens.issue_bare``), submitted in the page's ``encoding``; None
        when they take :meth:`sign_forms`' way (a store that did not answer included: that
        way says so)."""
        try:
            state, binding, _ = self._signing()
        except StoreUnavailable:
            return None
        return self._middleware.form_tokens.issue_bare(
            forms, state, binding, self._middleware.registry.callback_pages, keyed=keyed,
            last_run=self._last_run, encoding=encoding)

    def _signing(self) -> tuple[dict[str, Any] | str, str, PageSigning]:
        """What this response's forms are signed with: the view state (or the key it is kept
        under), the binding, and what signs for that binding."""
        environ, middleware = self._environ, self._middleware
        # Read now, not earlier: what the app left in the view state while rendering.
        state = environ.get(VIEWSTATE_KEY)
        if not isinstance(state, dict):
            raise InvalidType(f"environ[{VIEWSTATE_KEY!r}] must be a dict, not {type(state)}")
        data = state if self._state_keys is None else self._state_keys.data(state)
        # The binding is asked now, not reused from verification: a login postback changes
        # the user, and the new page's tokens must belong to the new session.
        binding = self._browser_binding
        if binding is None:
            binding = middleware._binding(environ, self._browser)
            if middleware.options.user_key is None:
                self._browser_binding = binding
        page = self._page
        if page is None or page.user != binding:
            page = self._page = middleware.signer.page(binding)
        return data, binding, page

    def bound_headers(self, headers: Headers, *, tokens: bool, streamed: bool) -> Headers:
        """Headers of an edited page: private (fresh no longer than its tokens live), and the
        browser's cookie, when it has tokens.

        A streamed page may bring a form after its headers are gone: a browser without the
        cookie gets it (and the page is private) whether or not a form came yet.
        """
        browser, middleware = self._browser, self._middleware
        # (Without user_key, tokens are always the browser's: no binding to make and compare.)
        needs_cookie = not (browser.sent or browser.ambiguous) and (
            middleware.options.user_key is None
            or middleware._binding(self._environ, browser) == browser.binding
        )
        if not (tokens or (streamed and needs_cookie)):
            return headers
        if tokens:
            middleware._check_connect(self._environ, headers)
        # A browser's copy must not outlive the tokens: renewed by the client script up to
        # renewal_window after they were issued, usable max_age without renewal.
        options = middleware.options
        headers = private_headers(headers, fresh_for=options.renewal_window or options.max_age)
        if needs_cookie:
            headers.append(browser.set_cookie())
        return headers



def _request_failed(start_response: StartResponse) -> list[bytes]:
    """A 500 for a bug of ours met reading the request (logged, with its traceback): it must
    not reach the client as a traceback, nor the app unverified. Called in an except block."""
    log.exception("reading the request failed; answering 500")
    return text_response(start_response, "500 Internal Server Error", "Internal Server Error")


def _request_path(environ: WSGIEnvironment) -> str:
    """The path tokens are bound to, as WSGI gives it (latin-1 text of the raw bytes)."""
    return str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))


# What wsgiref's request_uri reads, but the query (added after it, as request_uri adds it).
_URL_KEYS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME",
             "PATH_INFO")


def _page_url(environ: WSGIEnvironment) -> str:
    """The page's URL as the browser sees it (forms' actions resolve against it)."""
    url = _url_of(*map(environ.get, _URL_KEYS))
    query = environ.get("QUERY_STRING")
    return url + "?" + query if query else url


@functools.lru_cache(maxsize=1024)  # pages are requested again and again (with any query)
def _url_of(*values: str | None) -> str:
    environ = {key: value for key, value in zip(_URL_KEYS, values, strict=True)
               if value is not None}
    return request_uri(environ, include_query=False)


def _is_htmx(environ: WSGIEnvironment) -> bool:
    """Whether htmx sent the request (``HX-Request: true``): its answer is swapped into a page."""
    return str(environ.get("HTTP_HX_REQUEST", "")).strip().lower() == "true"


def _host_of(page_url: str) -> str:
    """``//host[:port]`` of the page's URL: where its script tag's URL begins."""
    return _netloc_of(without_query(page_url))


@functools.lru_cache(maxsize=1024)  # (as _url_of: the same pages, again and again)
def _netloc_of(page_url: str) -> str:
    return "//" + urlsplit(page_url).netloc


def _document_url(environ: WSGIEnvironment, *, page_url: str | None = None,
                  htmx: bool | None = None) -> str:
    """The URL of the document the response's forms will be in (their relative URLs resolve
    against it): the page's own; for a fragment htmx asked for, the page it goes into, which
    htmx sends as ``HX-Current-URL`` (used only when it is an http(s) URL of this request's
    origin: another origin's is ignored). A boosted page and a history restore become the
    document themselves: their own URL. ``page_url`` and ``htmx``: the page's URL and whether
    htmx asked, when the caller knows them already."""
    url = _page_url(environ) if page_url is None else page_url
    if htmx is None:
        htmx = _is_htmx(environ)
    if (not htmx or environ.get("HTTP_HX_BOOSTED") == "true"
            or environ.get("HTTP_HX_HISTORY_RESTORE_REQUEST") == "true"):
        return url
    current = str(environ.get("HTTP_HX_CURRENT_URL", ""))
    if (not current or len(current) > 8192 or not current.isascii() or not current.isprintable()
            or " " in current):
        return url
    origin = origin_of(current)
    return current if origin is not None and origin == origin_of(url) else url


def _has_body(environ: WSGIEnvironment) -> bool:
    """Whether a request (of a method other than POST) carries a body, or may.

    A ``CONTENT_LENGTH`` other than zero counts, malformed ones too (``read_body`` refuses
    those: Werkzeug reads " 21" as 21). Without one or ``Transfer-Encoding``, a body may still
    come: an HTTP/2 request streams it with neither, and the server says so with
    ``wsgi.input_terminated`` (gunicorn's h2). One byte is read to tell, and put back in front
    of ``wsgi.input`` (an empty terminated input, every GET's on waitress, costs one read).
    """
    length = str(environ.get("CONTENT_LENGTH") or "")
    if length:
        return not (is_number(length) and int(length) == 0)
    if "HTTP_TRANSFER_ENCODING" in environ:
        return True
    stream = environ.get("wsgi.input")
    if not environ.get("wsgi.input_terminated") or stream is None:
        return False
    head = stream.read(1)
    if not head:
        return False
    environ["wsgi.input"] = partial.PrefixedStream(head, stream)
    return True


_ENGINE_WARNED: list[bool] = []  # (said once a process)


def _say_once_which_engine(engine: Engine) -> None:
    """Without the compiled scanner the package works, slower: say so once, with the cost
    (and, where it is built but another was chosen, that it was chosen)."""
    if engine == "python" and not _ENGINE_WARNED:
        _ENGINE_WARNED.append(True)
        cost = ("about 50 times slower (some 5 ms instead of 0.1 ms for an 80 KB page on a "
                "2-core machine; benchmarks/speed.py measures yours)")
        if "compiled" in ENGINES:
            log.warning("pages are read by the pure-Python engine, chosen with "
                        "html_scan.use_engine('python') although the compiled one is built: "
                        "%s. use_engine(None) goes back to it", cost)
            return
        log.warning(
            "the compiled HTML scanner is not built, so pages are read by the pure-Python engine:"
            " %s. To build it, install a C compiler and the Python headers (Debian: apt-get "
            "install gcc python3-dev) and reinstall: pip install --force-reinstall --no-deps "
            "postback-middleware", cost)


def _async_postback(values: dict[str, str] | None, scan: BodyScan | None) -> str:
    """The ScriptManager field's value (``UpdatePanel1|LinkButton1``) of an async postback of
    Microsoft's client; 400 when the request is no such postback."""
    if values is None or scan is None or scan.manager_field is None:
        raise BadRequest("an async postback (X-MicrosoftAjax) must be an urlencoded postback "
                         "beginning with its ScriptManager field")
    if values.get(f.ASYNCPOST, "true").strip() != "true":
        raise BadRequest("__ASYNCPOST is not 'true'")
    return scan.manager_field[1]


# What separates a query's fields: "&", and ";" for WebOb (request.GET, request.params:
# Pyramid's, and the webob.Request the postback and callback handlers get).
_QUERY_SEPARATORS = re.compile(rb"[&;]")


def _refuse_reserved_query(query: str) -> None:
    """Reserved fields come from the POST body only; a copy in the URL is refused."""
    # (No underscore, nor anything decoding to one, in the bytes read below: an ASCII query
    # without "_" and "%", most of them, is told so without encoding it.)
    if not query or ("_" not in query and "%" not in query and query.isascii()):
        return
    try:  # PEP 3333: the query's raw bytes, as latin-1 text (parsers encode it back so)
        raw = query.encode("latin-1")
    except UnicodeEncodeError:  # (not a PEP 3333 string: read as the text it is)
        raw = query.encode("utf-8", "surrogateescape")
    if not f.may_look_reserved(raw):
        return
    for segment in _QUERY_SEPARATORS.split(raw):  # (WebOb splits on ";" too)
        decoded = unquote_to_bytes(segment.partition(b"=")[0].replace(b"+", b" "))
        # As the body's names are judged: UTF-8 (WebOb, Werkzeug, Django) and latin-1 (Bottle).
        for name in (decoded.decode("utf-8", "replace"), decoded.decode("latin-1")):
            if f.looks_reserved(name):
                raise BadRequest(f"reserved name {name[:40]!r} in the query string")
