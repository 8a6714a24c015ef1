"""Single-use postbacks and server-side view state attacked and failing (issue #20): every
spelling of a replay, duplicates that are and are not the same request (multipart boundaries,
partial against full), kept answers and who may see them, the store's growth, a store failing
at each call, and the WSGI contract of the kept answer (close, write(), over max_answer).
Each on the in-process store and a real redis-server; each test states the property it
holds."""

from __future__ import annotations

import concurrent.futures
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
import webtest

from postback_middleware import CallbackError, PostbackMiddleware, Registry
from postback_middleware.stores import MemoryStore, Store

from .helpers import (
    PAGE,
    RecordingApp,
    callback,
    counting,
    effects,
    grid_page,
    multipart_body,
    new_key,
    parse_success,
    part,
    postback,
    renew,
    tokens_of,
)

KEY = new_key()


@pytest.fixture
def inner() -> RecordingApp:
    return RecordingApp(page=PAGE, state_update=counting)


def wrap(app: Any, store: Any, **options: Any) -> webtest.TestApp:
    options = {"secret_keys": [KEY], "store": store, "single_use": True, **options}
    return webtest.TestApp(PostbackMiddleware(app, **options))


def post_body(app: webtest.TestApp, body: bytes, content_type: str, status: int | str = "*",
              **headers: str) -> webtest.TestResponse:
    return app.request("/orders", method="POST", body=body, content_type=content_type,
                       status=status, headers=headers)


def delete_seven(fields: dict[str, str]) -> list[tuple[str, str]]:
    """The reserved fields of the standard form's postback of ("delete", "7")."""
    return [("__EVENTTARGET", "delete"), ("__EVENTARGUMENT", "7"),
            ("__VIEWSTATE", fields["__VIEWSTATE"]),
            ("__EVENTVALIDATION", fields["__EVENTVALIDATION"])]


def urlencoded(fields: dict[str, str], *pairs: tuple[str, str]) -> bytes:
    """That postback urlencoded, ``pairs`` first."""
    return urllib.parse.urlencode([*pairs, *delete_seven(fields)]).encode()


def multipart(fields: dict[str, str], boundary: str, *pairs: tuple[str, str]) -> bytes:
    """That postback as multipart, ``pairs`` first."""
    return multipart_body(*(part(name, value) for name, value in [*pairs, *delete_seven(fields)]),
                          boundary=boundary)


# -- 1. a replay never runs twice -------------------------------------------------------------


@pytest.mark.parametrize("spelling", [
    pytest.param(lambda f: (urlencoded(f, ("note", "hello")), "application/x-www-form-urlencoded"),
                 id="same"),
    pytest.param(lambda f: (urlencoded(f, ("note", "hel%6Co")),
                            "application/x-www-form-urlencoded"), id="percent-encoded"),
    pytest.param(lambda f: (urlencoded(f, ("note", "hello"), ("note", "hello")),
                            "application/x-www-form-urlencoded"), id="duplicate-field"),
    pytest.param(lambda f: (urlencoded(f, ("note", "hello"), ("junk", "1")),
                            "application/x-www-form-urlencoded"), id="junk-field"),
    pytest.param(lambda f: (multipart(f, "XyZ", ("note", "hello")),
                            "multipart/form-data; boundary=XyZ"), id="multipart"),
    pytest.param(lambda f: (urlencoded(f, ("note", "hello")),
                            "application/x-www-form-urlencoded; charset=latin-1"), id="charset"),
])
def test_any_spelling_of_a_spent_form_never_runs_again(
    inner: RecordingApp, store: Store, spelling: Any
) -> None:
    app = wrap(inner, store)
    fields = tokens_of(app)
    body, kind = spelling(fields)
    postback(app, fields, "delete", "7")
    again = post_body(app, body, kind)
    assert again.status_int in (200, 400, 409)  # (400: a charset other than UTF-8)
    assert effects(inner) == 1


def test_a_partial_postback_and_a_full_one_of_one_form_run_once(
    store: Store,
) -> None:
    page = ('<!DOCTYPE html><html><body><form method="post" action="/orders">'
            '<div id="p" data-update-panel><a href="#" data-postback="delete" '
            'data-postback-argument="7">x</a></div></form></body></html>')
    inner = RecordingApp(page=page)
    app = wrap(inner, store)
    fields = tokens_of(app)
    partial = app.post("/orders", urlencoded(fields, ("note", "hello")),
                       content_type="application/x-www-form-urlencoded",
                       headers={"X-Postback-Panels": "p"})
    assert partial.headers["X-Postback-Partial"] == "panels"
    full = post_body(app, urlencoded(fields, ("note", "hello")),
                     "application/x-www-form-urlencoded")
    assert effects(inner) == 1
    # The full postback (a navigation: the client falls back to it when the fetch failed)
    # must not be shown the partial answer's JSON as a page.
    assert full.headers.get("X-Postback-Partial") is None, full.headers


@pytest.mark.parametrize(("first", "then"), [
    pytest.param("async", "full", id="async-then-full"),
    pytest.param("full", "async", id="full-then-async"),
    pytest.param("async", "async-other-panel", id="async-then-async-naming-another-panel"),
])
def test_an_async_postback_and_another_of_one_form_do_not_share_answers(
    store: Store, first: str, then: str
) -> None:
    """Microsoft's client (aspnet_ajax): its async postback's answer is the delta format
    (text/plain), naming the panels its ScriptManager field asked for; that field and
    __ASYNCPOST are cut from the body, so the clean body is the full postback's. A full
    postback of the same fields must not be shown the delta as its page, nor the async one
    the page, nor an async one naming other panels the first's records."""
    page = ('<!DOCTYPE html><html><body><form method="post" action="/orders" id="form1">'
            '<script type="text/javascript">\n//<![CDATA[\nSys.WebForms.PageRequestManager.'
            "_initialize('ScriptManager1', 'form1', ['tP1','','tP2',''], [], [], 90, '');"
            '\n//]]>\n</script><div id="P1"><a href="#" data-postback="delete" '
            'data-postback-argument="7">x</a></div><div id="P2"></div></form></body></html>')
    inner = RecordingApp(page=page)
    app = wrap(inner, store, aspnet_ajax=True)
    fields = tokens_of(app)
    sent = {
        "full": (b"", {}),
        "async": (b"ScriptManager1=P1%7Cx&", {"X-MicrosoftAjax": "Delta=true"}),
        "async-other-panel": (b"ScriptManager1=P2%7Cx&", {"X-MicrosoftAjax": "Delta=true"}),
    }
    answers = []
    for kind in (first, then):
        head, headers = sent[kind]
        body = head + urlencoded(fields, ("note", "hello")) + (
            b"&__ASYNCPOST=true" if head else b"")
        answers.append(post_body(app, body, "application/x-www-form-urlencoded", **headers))
    assert effects(inner) == 1
    # Refused (409; for Microsoft's client, its error record with a 200), never the first.
    refused = (answers[1].status_int == 409 if then == "full"
               else answers[1].text == "27|error|409|This form was already sent.|")
    assert refused, answers[1].text[:80]


def test_a_multipart_double_click_gets_the_first_answer(inner: RecordingApp, store: Store
                                                         ) -> None:
    """A browser writes a new random boundary for every submission of a multipart form (a
    file upload): the second click of a double click sends the same form under another
    boundary, and must be shown the first answer, not refused."""
    app = wrap(inner, store)
    fields = tokens_of(app)
    first = post_body(app, multipart(fields, "----WebKitFormBoundaryAAAAAAAAAAAAAAAA",
                                     ("note", "hello")),
                      "multipart/form-data; boundary=----WebKitFormBoundaryAAAAAAAAAAAAAAAA")
    second = post_body(app, multipart(fields, "----WebKitFormBoundaryBBBBBBBBBBBBBBBB",
                                      ("note", "hello")),
                       "multipart/form-data; boundary=----WebKitFormBoundaryBBBBBBBBBBBBBBBB")
    assert effects(inner) == 1
    assert second.status_int == first.status_int == 200
    assert second.body == first.body


def test_a_multipart_form_sent_with_another_file_is_still_refused(
    inner: RecordingApp, store: Store
) -> None:
    app = wrap(inner, store)
    fields = tokens_of(app)
    post_body(app, multipart(fields, "AAAA", ("note", "hello")),
              "multipart/form-data; boundary=AAAA")
    post_body(app, multipart(fields, "BBBB", ("note", "hellO")),
              "multipart/form-data; boundary=BBBB", status=409)
    assert effects(inner) == 1


def test_the_app_gets_the_multipart_body_byte_exact(inner: RecordingApp, store: Store) -> None:
    app = wrap(inner, store)
    fields = tokens_of(app)
    blob = bytes(range(256)).replace(b"\r", b"").replace(b"-", b"") * 8000  # ~2 MB: spooled
    body = (b"--QQ\r\nContent-Disposition: form-data; name=\"up\"; filename=\"a.bin\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n" + blob + b"\r\n")
    body += multipart(fields, "QQ", ("note", "hello"))
    post_body(app, body, "multipart/form-data; boundary=QQ", status=200)
    assert blob in inner.calls[-1].body
    assert inner.calls[-1].body.startswith(b"--QQ\r\n")


def test_renewing_twice_gives_one_fresh_pair(inner: RecordingApp, store: Store,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    app = wrap(inner, store)
    fields = tokens_of(app)
    later = time.time() + 5 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    one = renew(app, fields).json["fields"]
    two = renew(app, fields).json["fields"]
    assert one == two
    postback(app, one, "delete", "7")
    postback(app, two, "delete", "7")  # the kept answer
    renew(app, one, status=409)  # renewed tokens, spent: not new again
    assert effects(inner) == 1


def test_a_renewal_double_click_gets_the_same_tokens_with_callbacks_single_use_too(
    inner: RecordingApp, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both options on: a renewal sent twice (a retry whose first answer was lost) must get
    the kept fresh tokens, as with single_use alone, not a 409 that leaves the form dead."""
    app = wrap(inner, store, single_use_callbacks=True)
    fields = tokens_of(app)
    later = time.time() + 5 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    renewed = renew(app, fields).json["fields"]
    assert renew(app, fields, status="*").json.get("fields") == renewed
    postback(app, renewed, "delete", "7")
    assert effects(inner) == 1


def test_with_both_options_a_renewal_never_revives_a_callbacks_spent_token(
    inner: RecordingApp, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(found by a red-team pass) With single_use on, a renewal only claimed its form: an
    event validation a callback had spent was renewed into fresh tokens, and one not yet
    spent still ran a callback after its form's renewal."""
    ran: list[str] = []
    registry = Registry()
    registry.add_callback("CallServer", lambda argument, request: ran.append(argument) or "ok")
    app = wrap(inner, store, registry=registry, single_use_callbacks=True)
    spent = tokens_of(app)
    callback(app, spent, "CallServer", "1")
    later = time.time() + 5 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    renew(app, spent, status=409)  # the callback's answer brought the next one
    monkeypatch.undo()
    unspent = tokens_of(app)
    renewed = renew(app, unspent).json["fields"]  # (renewed before it expired: it verifies)
    callback(app, unspent, "CallServer", "2", status=409)  # renewed: spent
    assert ran == ["1"]
    postback(app, renewed, "delete", "7")


def test_a_callback_refresh_of_a_spent_form_posts_nothing(inner: RecordingApp, store: Store
                                                           ) -> None:
    registry = Registry()
    registry.add_callback("CallServer", lambda argument, request: "ok")
    app = wrap(inner, store, registry=registry)
    fields = tokens_of(app)
    postback(app, fields, "delete", "7")
    fresh, _ = parse_success(callback(app, fields, "CallServer", "1").text)
    refreshed = {**fields, "__EVENTVALIDATION": fresh}
    postback(app, refreshed, "delete", "7")  # the kept answer
    postback(app, refreshed, "refresh", status=409)
    assert effects(inner) == 1


def test_concurrent_firsts_run_once(store: Store) -> None:
    slow = RecordingApp(page=PAGE)
    app = wrap(slow, store)
    fields = tokens_of(app)
    barrier = threading.Barrier(8)

    def send(n: int) -> int:
        barrier.wait()
        note = "hello" if n % 2 else f"other {n}"
        return int(app.post("/orders", urlencoded(fields, ("note", note)),
                            content_type="application/x-www-form-urlencoded",
                            status="*").status_int)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, range(8)))
    assert effects(slow) == 1
    assert set(statuses) <= {200, 409}


# -- 2. someone else's kept answer ---------------------------------------------------------


def test_another_browser_with_the_copied_tokens_gets_nothing(inner: RecordingApp, store: Store
                                                            ) -> None:
    victim = wrap(inner, store)
    fields = tokens_of(victim)
    postback(victim, fields, "delete", "7")
    attacker = webtest.TestApp(victim.app)
    attacker.get("/orders")  # a cookie of its own
    answer = postback(attacker, fields, "delete", "7", status="*")
    assert answer.status_int == 403 and b"__VIEWSTATE" not in answer.body
    cross = victim.post("/orders", urlencoded(fields, ("note", "hello")), status="*",
                        content_type="application/x-www-form-urlencoded",
                        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
    assert cross.status_int == 403
    assert effects(inner) == 1


# -- 3. store growth ---------------------------------------------------------------------


def test_anonymous_gets_of_one_page_do_not_grow_the_store() -> None:
    """server_viewstate: every GET of a page whose state is the same must not add an entry
    kept for days (renewal_window): anonymous requests would fill a noeviction Redis, and
    then every postback of the site is refused (503)."""
    store = MemoryStore()
    inner = RecordingApp(page=PAGE, state_update=lambda state: state.update(
        lines=list(range(2000))))

    def with_state(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["postback.viewstate"]["lines"] = list(range(2000))  # the page's grid, ~10 KB
        return inner(environ, start_response)

    app = webtest.TestApp(PostbackMiddleware(with_state, secret_keys=[KEY], store=store,
                                             server_viewstate=True))
    for _ in range(50):
        webtest.TestApp(app.app).get("/orders")  # fresh anonymous visitors
    assert len(store) <= 1


# -- 4. fail closed -----------------------------------------------------------------------


class FlakyStore(MemoryStore):
    """Fails the named operations after ``after`` successful calls of them."""

    def __init__(self, failing: set[str], after: int = 0) -> None:
        super().__init__()
        self.failing, self.after = failing, after

    def _maybe(self, name: str) -> None:
        from postback_middleware.errors import StoreUnavailable
        if name in self.failing:
            if self.after <= 0:
                raise StoreUnavailable("down (test)")
            self.after -= 1

    def add(self, key: str, value: bytes, *, expires_at: float) -> bool:
        self._maybe("add")
        return super().add(key, value, expires_at=expires_at)

    def put(self, key: str, value: bytes, *, expires_at: float) -> None:
        self._maybe("put")
        super().put(key, value, expires_at=expires_at)

    def get(self, key: str) -> bytes | None:
        self._maybe("get")
        return super().get(key)


@pytest.mark.parametrize("failing", [{"add"}, {"get"}, {"put"}, {"add", "get", "put"}])
@pytest.mark.parametrize("options", [
    {}, {"server_viewstate": True}, {"single_use_callbacks": True},
])
def test_a_failing_store_never_lets_a_second_effect_through_nor_a_traceback(
    failing: set[str], options: dict[str, Any]
) -> None:
    store = FlakyStore(set())
    inner = RecordingApp(page=PAGE, state_update=counting)
    registry = Registry()
    registry.add_callback("CallServer", lambda argument, request: "ok")
    app = wrap(inner, store, registry=registry, **options)
    fields = tokens_of(app)
    if options.get("server_viewstate") and not fields.get("__VIEWSTATE"):
        pytest.fail("no tokens with a working store")
    first = postback(app, fields, "delete", "7", status="*")
    store.failing = failing
    for _ in range(2):
        again = postback(app, fields, "delete", "7", status="*")
        assert again.status_int in (200, 409, 503, 403)
        assert b"Traceback" not in again.body
        cb = callback(app, fields, "CallServer", "1", status="*")  # type: ignore[arg-type]
        assert cb.status_int in (200, 403, 409, 503) and b"Traceback" not in cb.body
    assert first.status_int == 200 and effects(inner) == 1


# -- 5./6. WSGI handling ---------------------------------------------------------------------


class Closing:
    """An inner iterable that counts close() and may raise midway."""

    def __init__(self, pieces: list[bytes], fail_at: int | None = None) -> None:
        self.pieces, self.fail_at, self.closed = pieces, fail_at, 0

    def __iter__(self) -> Iterator[bytes]:
        for n, piece in enumerate(self.pieces):
            if n == self.fail_at:
                raise RuntimeError("midway")
            yield piece

    def close(self) -> None:
        self.closed += 1


def closing_app(made: list[Closing], fail_at: int | None) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Closing:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        body = Closing([PAGE.encode()[:50], PAGE.encode()[50:]],
                       fail_at if environ["REQUEST_METHOD"] == "POST" else None)
        made.append(body)
        return body
    return app


@pytest.mark.parametrize("fail_at", [None, 1])
@pytest.mark.parametrize("single_use", [False, True])
def test_the_inner_iterable_is_closed_exactly_once(fail_at: int | None, single_use: bool) -> None:
    made: list[Closing] = []
    app = wrap(closing_app(made, fail_at), MemoryStore(), single_use=single_use)
    fields = tokens_of(app)
    if fail_at is None:
        postback(app, fields, "delete", "7")
    else:
        with pytest.raises(RuntimeError, match="midway"):
            postback(app, fields, "delete", "7")
    assert made[-1].closed == 1


def test_an_answer_written_with_write_over_max_answer_is_not_kept(store: Store) -> None:
    big = b"x" * (2 * 1024 * 1024)

    def writer(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        write = start_response("200 OK", [("Content-Type", "application/octet-stream")])
        if environ["REQUEST_METHOD"] == "POST":
            write(big)
            return []
        return [b""]

    page_app = RecordingApp(page=PAGE)
    middleware = PostbackMiddleware(page_app, secret_keys=[KEY], store=store, single_use=True)
    app = webtest.TestApp(middleware)
    fields = tokens_of(app)
    middleware.app = writer
    assert len(postback(app, fields, "delete", "7").body) == len(big)
    postback(app, fields, "delete", "7", status=409)  # over max_answer: not kept


def test_a_303_answer_is_kept_and_shown_again(store: Store) -> None:
    def redirecting(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["REQUEST_METHOD"] == "POST":
            start_response("303 See Other", [("Location", "/done"), ("Set-Cookie", "flash=1")])
            return [b""]
        start_response("200 OK", [("Content-Type", "text/html")])
        return [PAGE.encode()]

    app = wrap(redirecting, store)
    fields = tokens_of(app)
    one = postback(app, fields, "delete", "7", status=303)
    two = postback(app, fields, "delete", "7", status=303)
    assert one.headers["Location"] == two.headers["Location"]
    assert two.headers.getall("Set-Cookie") == ["flash=1"]


# -- 7. server state ------------------------------------------------------------------------


def test_a_form_renewed_late_in_its_window_keeps_its_state(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """A state "lives as long as a token naming it can verify or be renewed": a renewal near
    the end of renewal_window gives tokens that verify for max_age more, and they name the
    first key."""
    store = MemoryStore(clock=lambda: time.time())
    inner = RecordingApp(page=PAGE, state_update=counting)

    def with_state(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["postback.viewstate"].setdefault("notes", "kept")
        return inner(environ, start_response)

    app = webtest.TestApp(PostbackMiddleware(
        with_state, secret_keys=[KEY], store=store, server_viewstate=True,
        max_age=3600, renewal_window=4 * 3600))
    fields = tokens_of(app)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 4 * 3600 - 10)  # last renewal
    renewed = renew(app, fields).json["fields"]
    monkeypatch.setattr(time, "time", lambda: now + 4 * 3600 + 1800)  # within its max_age
    postback(app, renewed, "delete", "7")
    assert inner.calls[-1].viewstate.get("notes") == "kept"


def test_callbacks_keep_a_page_with_a_kept_event_validation_working(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without server_viewstate a page that keeps calling back works for ever (each answer
    refreshes its event validation); a kept one must not expire under it."""
    grid = grid_page()
    registry = Registry()
    registry.add_callback("CallServer", lambda argument, request: "ok")
    store = MemoryStore(clock=lambda: time.time())
    app = webtest.TestApp(PostbackMiddleware(
        RecordingApp(page=grid), secret_keys=[KEY], store=store, server_viewstate=True,
        registry=registry, max_age=3600, renewal_window=0))
    fields = tokens_of(app)
    now = time.time()
    validation = fields["__EVENTVALIDATION"]
    for hour in range(1, 6):  # a callback every 50 minutes, for hours
        monkeypatch.setattr(time, "time", lambda h=hour: now + h * 3000)
        reply = app.post("/orders", {"__CALLBACKID": "CallServer", "__CALLBACKPARAM": "x",
                                     "__EVENTVALIDATION": validation}, status="*")
        assert reply.status_int == 200, (hour, reply.text)
        validation, _ = parse_success(reply.text)


# -- single_use_callbacks and errors -----------------------------------------------------------


@pytest.mark.parametrize("failure", ["deliberate", "crash"])
def test_a_callback_error_does_not_leave_the_page_without_callbacks(store: Store, failure: str
                                                                    ) -> None:
    """single_use_callbacks: an error answer ("e...", from CallbackError or a crash) has no
    room for the next event validation; it comes in X-Postback-Validation, the client script
    takes it, and the page's next callback goes through. The spent one stays spent."""
    def maybe(argument: str, request: Any) -> str:
        if argument == "bad":
            if failure == "crash":
                raise RuntimeError("a bug")
            raise CallbackError("try again")
        return "ok"

    registry = Registry()
    registry.add_callback("CallServer", maybe)
    app = wrap(RecordingApp(page=PAGE), store, registry=registry, single_use=False,
               single_use_callbacks=True)
    fields = tokens_of(app)
    failed = callback(app, fields, "CallServer", "bad", status="*")  # type: ignore[arg-type]
    assert failed.text.startswith("e")
    following = {**fields, "__EVENTVALIDATION": failed.headers["X-Postback-Validation"]}
    assert parse_success(callback(app, following, "CallServer", "good").text)[1] == "ok"
    callback(app, fields, "CallServer", "good", status=409)  # (the spent one: no)


def test_a_callback_not_offered_spends_nothing(store: Store) -> None:
    """A refused callback (a name the form does not offer) is refused before its token is
    spent: the page's next, offered callback goes through with the same token."""
    registry = Registry()
    registry.add_callback("CallServer", lambda argument, request: "ok")
    registry.add_callback("Hidden", lambda argument, request: "no")
    page = PAGE.replace("CallServer Broken", "CallServer")
    app = wrap(RecordingApp(page=page), store, registry=registry, single_use=False,
               single_use_callbacks=True)
    fields = tokens_of(app)
    callback(app, fields, "Hidden", "1", status=403)
    assert parse_success(callback(app, fields, "CallServer", "1").text)[1] == "ok"


# -- the fixes' own edges ---------------------------------------------------------------------


def test_a_kept_event_validation_refreshed_while_the_store_fails_still_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The callback ran: its answer goes out with the old key (still good until its time)."""
    grid = grid_page()
    registry = Registry()
    registry.add_callback("CallServer", lambda argument, request: "ok")
    store = FlakyStore(set())
    app = webtest.TestApp(PostbackMiddleware(
        RecordingApp(page=grid), secret_keys=[KEY], store=store, server_viewstate=True,
        registry=registry))
    fields = tokens_of(app)
    store.failing = {"put"}
    reply = app.post("/orders", {"__CALLBACKID": "CallServer", "__CALLBACKPARAM": "x",
                                 "__EVENTVALIDATION": fields["__EVENTVALIDATION"]})
    fresh, result = parse_success(reply.text)
    assert result == "ok" and "could not keep a callback's event validation" in caplog.text
    store.failing = set()
    app.post("/orders", {"__CALLBACKID": "CallServer", "__CALLBACKPARAM": "y",
                         "__EVENTVALIDATION": fresh})


def test_one_state_is_one_entry_and_each_visitor_gets_it_back() -> None:
    store = MemoryStore()
    inner = RecordingApp(page=PAGE)

    def with_state(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["REQUEST_METHOD"] == "GET":
            environ["postback.viewstate"]["who"] = environ.get("QUERY_STRING", "")
        return inner(environ, start_response)

    middleware = PostbackMiddleware(with_state, secret_keys=[KEY], store=store,
                                    server_viewstate=True, single_use=True)
    visitors = [webtest.TestApp(middleware) for _ in range(3)]
    pages = [tokens_of(visitor, "/orders?a") for visitor in visitors]
    assert len(store) == 1
    tokens_of(visitors[0], "/orders?b")  # another state: another entry
    assert len(store) == 2
    for visitor, fields in zip(visitors, pages, strict=True):
        postback(visitor, fields, "delete", "7")
        assert inner.calls[-1].viewstate == {"who": "a"}


def test_a_close_that_fails_after_a_failed_iteration_leaves_the_first_error() -> None:
    class BadClose(Closing):
        def close(self) -> None:
            raise OSError("close failed")

    def app(environ: dict[str, Any], start_response: Any) -> Closing:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        if environ["REQUEST_METHOD"] == "GET":
            return Closing([PAGE.encode()])
        return BadClose([PAGE.encode(), b"x"], 1)

    client = wrap(app, MemoryStore())
    fields = tokens_of(client)
    with pytest.raises(RuntimeError, match="midway"):
        postback(client, fields, "delete", "7")


@pytest.mark.parametrize("boundary", [b"B", b"-", b"--", b"a-", b"----WebKitFormBoundaryQ"])
def test_a_multipart_digest_is_one_replace_wherever_the_body_is_cut(boundary: bytes) -> None:
    import io
    import random

    from postback_middleware.single_use import _without_boundary

    chooser = random.Random(20)
    for _ in range(300):
        body = bytes(chooser.choice(b"-aBQ\r\n") for _ in range(chooser.randint(0, 200)))
        size = chooser.randint(1, 9)

        class Pieces(io.BytesIO):
            def read(self, _: int | None = -1, size: int = size) -> bytes:
                return super().read(size)

        assert (b"".join(_without_boundary(Pieces(body), boundary))
                == body.replace(b"--" + boundary, b"--\0"))
