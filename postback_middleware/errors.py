"""One exception hierarchy for everything the middleware refuses or reports.

Every refusal of a request is a :class:`Rejected` subclass that carries the HTTP status, a
*reason* and a *kind*. The reason (which check failed, on what) is for the log only; clients get
a generic body for the status, and the kind (a :class:`Reason`: ``expired``, ``tampered``...),
which says no more than the request itself shows its sender (it lets the client renew an
expired form, and an app explain). Handlers raise :class:`CallbackError` to send a deliberate
error message to the page.
"""

from __future__ import annotations

from enum import StrEnum


class PostbackError(Exception):
    """Base class of every exception this package raises."""


class UsageError(PostbackError):
    """A mistake in how the library is called or set up, not a refused request; the message
    says what to do. Each subclass also derives from the builtin error it stands for, so
    ``except ValueError`` and the like keep working."""


class ConfigurationError(UsageError, ValueError):
    """The operator's configuration cannot work (missing or weak key, bad option value)."""


class UnknownOption(ConfigurationError, TypeError):
    """An option name that is none of them (a typo, in Python or in the ini file); the message
    lists the known ones. A ``TypeError`` too, as Python's own unknown keyword is."""


class InvalidArgument(UsageError, ValueError):
    """A value the library cannot use: a handler name registered twice, view state that is not
    JSON or does not fit ``max_state_size``, an origin that is not one."""


class StateTooLarge(InvalidArgument):
    """A token or a kept state over ``max_state_size``: what the page's data made (a user's
    text kept in the view state), not a mistake in the code; the forms get no tokens."""


class InvalidType(UsageError, TypeError):
    """An object of the wrong kind: a handler that is not callable, a callback that returns
    something other than text, a view state that is not a dict."""


class EngineUnavailable(UsageError, RuntimeError):
    """The compiled scanner engine was asked for, but this installation has not built it."""


class CallbackError(PostbackError):
    """Raised by a callback handler to send ``message`` to the page's error callback.

    This is the one error whose text reaches the client, because the handler chose it.
    """

    def __init__(self, message: str) -> None:
        if not isinstance(message, str):  # (the handler's mistake: logged, a generic answer)
            raise InvalidType(f"CallbackError takes the message's text, not a "
                              f"{type(message).__name__}")
        super().__init__(message)
        self.message = message


class Reason(StrEnum):
    """Why a request was refused, in a word: what ``on_reject`` and a refusal page are told
    (the log line has the detail). A ``str``, so it prints and compares as its value."""

    EXPIRED = "expired"  # a token older than max_age: a form left open too long
    TAMPERED = "tampered"  # a token or reserved field that does not verify as issued
    OTHER_USER = "other-user"  # a genuine token, issued to another browser or user
    COOKIES_OFF = "cookies-off"  # the browser sends no cookie of ours
    CROSS_SITE = "cross-site"  # sent by a page of another site
    NOT_OFFERED = "not-offered"  # an event or callback the form did not offer
    MISSING_TOKEN = "missing-token"  # a postback, or (require_token) a form POST, without tokens
    MALFORMED = "malformed"  # a body, field or header that is not well formed
    TOO_LARGE = "too-large"  # over max_body_size, max_state_size or max_form_fields
    UNAVAILABLE = "unavailable"  # a store could not answer
    ALREADY_SENT = "already-sent"  # single_use: the form's tokens were spent by an earlier request


class Rejected(PostbackError):
    """A request the middleware refuses. ``reason`` goes to the log, never to the client;
    ``kind`` (a :class:`Reason`) says why in a word, for hooks and refusal pages."""

    status = 400
    public_message = "Bad request."
    kind = Reason.MALFORMED

    def __init__(self, reason: str, *, kind: Reason | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if kind is not None:
            self.kind = kind


class BadRequest(Rejected):
    """Malformed body, duplicated or disguised reserved fields, bad ``CONTENT_LENGTH``."""


class Forbidden(Rejected):
    """Anything that fails verification: signature, age, path, user, event pair, missing token."""

    status = 403
    kind = Reason.NOT_OFFERED
    # ASP.NET's wording, so migrated pages and their tests see the familiar text.
    public_message = "Invalid postback or callback argument."


class CrossSite(Forbidden):
    """A postback or callback that a page of another site sent (Fetch Metadata, ``Origin``)."""

    kind = Reason.CROSS_SITE


class CookieMissing(Forbidden):
    """A postback from a browser that does not send the middleware's cookie (cookies off).

    The one refusal that explains itself: the person can fix it, and the client knows already
    that it sent no cookie.
    """

    public_message = (
        "This form needs cookies: allow cookies for this site, then reload the page and try again."
    )
    kind = Reason.COOKIES_OFF


class LengthRequired(Rejected):
    """A form POST without ``CONTENT_LENGTH`` on a server that does not terminate the input."""

    status = 411
    public_message = "Length required."


class TooLarge(Rejected):
    """A body, field or token over the configured limits."""

    status = 413
    public_message = "Request too large."
    kind = Reason.TOO_LARGE


class StoreUnavailable(Rejected):
    """A store (see ``stores``) that could not answer: the request is refused, never let
    through unchecked (fail closed)."""

    status = 503
    public_message = "The service is temporarily unavailable. Please try again."
    kind = Reason.UNAVAILABLE


class AlreadySent(Rejected):
    """``single_use``: a form whose tokens an earlier request spent (a replay, an old page sent
    again), and whose first answer is no longer kept to be shown again (see ``single_use``)."""

    status = 409
    public_message = "This form was already sent."
    kind = Reason.ALREADY_SENT


class TokenError(Forbidden):
    """A ``__VIEWSTATE`` or ``__EVENTVALIDATION`` token that does not verify."""

    kind = Reason.TAMPERED


class TokenExpired(TokenError):
    """An authentic token older than ``max_age`` (a form left open): renewable (see
    ``form_tokens``), so what the person typed need not be lost."""

    kind = Reason.EXPIRED


class WrongBinding(TokenError):
    """An authentic token issued to another browser or user (see ``csrf``)."""

    kind = Reason.OTHER_USER
