"""Single-use postbacks (``single_use``): each form is accepted once; its duplicates get the
first answer while it is kept, then 409; the store failing closes the door (503).

Each journey runs on the in-process store and on a real ``redis-server`` (shared by two
middlewares as by two workers; ``benchmarks/replay_load.py`` runs gunicorn hosts on one Redis).
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import webtest

from postback_middleware import ConfigurationError, PostbackMiddleware, Registry
from postback_middleware.errors import AlreadySent
from postback_middleware.single_use import Answer, SingleUse
from postback_middleware.stores import MemoryStore, Store

from .helpers import (
    PAGE,
    RecordingApp,
    UnreachableStore,
    callback,
    counting,
    effects,
    hidden_fields,
    new_key,
    parse_success,
    postback,
    renew,
    tokens_of,
)
from .redis_server import running_redis
from .servers import serve_wsgi

KEY = new_key()


@pytest.fixture
def inner() -> RecordingApp:
    return RecordingApp(page=PAGE, state_update=counting)


def wrap(app: Any, store: Any, **options: Any) -> PostbackMiddleware:
    options = {"secret_keys": [KEY], "store": store, "single_use": True, **options}
    return PostbackMiddleware(app, **options)


@pytest.fixture
def app(inner: RecordingApp, store: Store) -> webtest.TestApp:
    return webtest.TestApp(wrap(inner, store))


ANSWERS_KEPT = 0.02  # seconds, in the tests where first answers must be gone


def forget_answers(app: webtest.TestApp) -> None:
    """Keep first answers for a moment only (as if a replay came long after its first); the
    time duplicates wait is shorter still, as ``keep`` is longer than ``wait``."""
    single_use = app.app.single_use  # type: ignore[attr-defined]
    single_use.keep, single_use.wait = ANSWERS_KEPT, ANSWERS_KEPT / 2


# -- a form is accepted once ----------------------------------------------------------------


def test_a_double_click_shows_the_first_answer_and_the_app_runs_once(
    app: webtest.TestApp, inner: RecordingApp
) -> None:
    fields = tokens_of(app)
    first = postback(app, fields, "delete", "7")
    second = postback(app, fields, "delete", "7")
    assert effects(inner) == 1
    assert second.status == first.status and second.body == first.body
    assert second.headers.getall("Set-Cookie") == first.headers.getall("Set-Cookie")
    # The answer shown twice is one page: its fresh form posts once more, and only once.
    fresh = hidden_fields(second.body)
    postback(app, fresh, "delete", "7")
    assert effects(inner) == 2


def test_the_form_sent_again_with_other_values_is_refused_not_silently_dropped(
    app: webtest.TestApp, inner: RecordingApp
) -> None:
    """Back, an edit, send: showing the first answer would lose the edit without a word."""
    fields = tokens_of(app)
    postback(app, fields, "delete", "7")
    edited = app.post("/orders", {"note": "hello again", "__EVENTTARGET": "delete",
                                  "__EVENTARGUMENT": "7", **fields},
                      headers={"Accept": "text/html"}, status=409)
    assert "What you typed is still in the form" in edited.text
    postback(app, fields, "refresh", status=409)  # another event of the same form: the same
    assert effects(inner) == 1


def test_a_replay_after_the_answer_is_gone_is_refused(
    app: webtest.TestApp, inner: RecordingApp
) -> None:
    forget_answers(app)
    fields = tokens_of(app)
    postback(app, fields, "delete", "7")
    time.sleep(ANSWERS_KEPT * 3)
    refused = postback(app, fields, "delete", "7", status=409)
    assert refused.headers["X-Postback-Refused"] == "already-sent"
    assert effects(inner) == 1


def test_an_old_page_cannot_roll_the_state_back(
    app: webtest.TestApp, inner: RecordingApp
) -> None:
    forget_answers(app)
    page_one = tokens_of(app)
    page_two = hidden_fields(postback(app, page_one, "delete", "7").body)
    postback(app, page_two, "delete", "7")
    time.sleep(ANSWERS_KEPT * 3)
    assert inner.calls[-1].viewstate == {"n": 2}  # the second page's state
    postback(app, page_one, "delete", "7", status=409)  # back to the first page's state: no
    assert effects(inner) == 2


def test_every_worker_sharing_the_store_refuses_the_replay(
    inner: RecordingApp, store: Store
) -> None:
    one, two = (webtest.TestApp(wrap(inner, store)) for _ in range(2))
    forget_answers(one)
    forget_answers(two)
    fields = tokens_of(one)
    two.cookiejar = one.cookiejar  # (one browser, its requests reaching either worker)
    postback(two, fields, "delete", "7")
    time.sleep(ANSWERS_KEPT * 3)
    postback(one, fields, "delete", "7", status=409)
    postback(two, fields, "delete", "7", status=409)
    assert effects(inner) == 1


def test_a_postback_without_an_event_is_spent_too(
    app: webtest.TestApp, inner: RecordingApp
) -> None:
    """A plain submit button posts the form with no event: it has effects like any other."""
    fields = tokens_of(app)
    first = postback(app, fields)
    assert postback(app, fields).body == first.body
    assert effects(inner) == 1


def test_the_default_is_reusable_tokens(inner: RecordingApp, store: Store) -> None:
    app = webtest.TestApp(PostbackMiddleware(inner, secret_keys=[KEY]))
    fields = tokens_of(app)
    for _ in range(3):
        postback(app, fields, "delete", "7")
    assert effects(inner) == 3


# -- duplicates while the first one runs --------------------------------------------------


class SlowApp(RecordingApp):
    """The standard page, its postbacks taking ``seconds`` (an order being saved)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(page=PAGE, state_update=counting)
        self.seconds = seconds
        self.running = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["REQUEST_METHOD"] == "POST":
            self.running.set()
            time.sleep(self.seconds)
        return super().__call__(environ, start_response)


def send_form(url: str, fields: dict[str, str], cookie: str) -> tuple[int, bytes, str]:
    body = urllib.parse.urlencode({"note": "hello", "__EVENTTARGET": "delete",
                                   "__EVENTARGUMENT": "7", **fields}).encode()
    request = urllib.request.Request(url + "/orders", body, headers={
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded",
        "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read(), answer.headers.get("X-Postback-Refused", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("X-Postback-Refused", "")


def first_page(url: str) -> tuple[dict[str, str], str]:
    with urllib.request.urlopen(url + "/orders", timeout=10) as page:
        cookie = page.headers["Set-Cookie"].split(";")[0]
        return hidden_fields(page.read()), cookie


@pytest.fixture
def served_slowly(store: Store) -> Iterator[tuple[str, SlowApp, PostbackMiddleware]]:
    slow = SlowApp(0.5)
    middleware = wrap(slow, store)
    with serve_wsgi(middleware) as url:
        yield url, slow, middleware


def test_two_concurrent_requests_one_effect_both_see_its_answer(
    served_slowly: tuple[str, SlowApp, PostbackMiddleware],
) -> None:
    """A double click on a real server: the second request arrives while the first runs."""
    url, slow, _ = served_slowly
    fields, cookie = first_page(url)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first = pool.submit(send_form, url, fields, cookie)
        assert slow.running.wait(5)
        second = pool.submit(send_form, url, fields, cookie)
        answers = [first.result(), second.result()]
    assert effects(slow) == 1
    assert answers[0][0] == answers[1][0] == 200
    assert answers[0][1] == answers[1][1] and b"__VIEWSTATE" in answers[0][1]


def test_a_duplicate_stops_waiting_for_a_first_request_that_takes_too_long(
    served_slowly: tuple[str, SlowApp, PostbackMiddleware],
) -> None:
    url, slow, middleware = served_slowly
    assert middleware.single_use is not None
    middleware.single_use.wait = 0.1
    fields, cookie = first_page(url)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first = pool.submit(send_form, url, fields, cookie)
        assert slow.running.wait(5)
        status, body, refused = send_form(url, fields, cookie)
        assert (status, refused) == (409, "already-sent")
        assert b"already sent" in body
        assert first.result()[0] == 200  # the first one still completes
    assert effects(slow) == 1


# -- what is kept, and what is not -------------------------------------------------------


def big_download(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    if environ["REQUEST_METHOD"] == "GET":
        start_response("200 OK", [("Content-Type", "text/html")])
        yield PAGE.encode()
        return
    start_response("200 OK", [("Content-Type", "text/csv"),
                              ("Content-Disposition", "attachment; filename=all.csv")])
    for row in range(3000):
        yield b"%d,order,%s\n" % (row, b"x" * 500)


def failing(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    if environ["REQUEST_METHOD"] == "POST":
        raise RuntimeError("the database is down")
    start_response("200 OK", [("Content-Type", "text/html")])
    return [PAGE.encode()]


def test_an_answer_too_large_to_keep_streams_whole_and_its_duplicate_is_refused(
    store: Store,
) -> None:
    app = webtest.TestApp(wrap(big_download, store))
    fields = tokens_of(app)
    first = postback(app, fields, "delete", "7")
    assert first.body.count(b"\n") == 3000 and len(first.body) > SingleUse.max_answer
    postback(app, fields, "delete", "7", status=409)


def test_a_first_request_that_failed_leaves_its_duplicates_a_refusal_not_a_wait(
    store: Store,
) -> None:
    app = webtest.TestApp(wrap(failing, store))
    fields = tokens_of(app)
    with pytest.raises(RuntimeError, match="database"):
        postback(app, fields, "delete", "7")
    started = time.monotonic()
    postback(app, fields, "delete", "7", status=409)
    assert time.monotonic() - started < 1  # not left waiting for an answer that never comes


def test_a_renewal_and_a_postback_do_not_share_answers(
    app: webtest.TestApp, inner: RecordingApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = tokens_of(app)
    postback(app, fields, "delete", "7")
    later = time.time() + 5 * 3600  # past max_age: the page would renew its tokens first
    monkeypatch.setattr(time, "time", lambda: later)
    refused = renew(app, fields, status=409)  # spent: renewing would make them new again
    assert refused.headers["X-Postback-Refused"] == "already-sent"


def test_a_form_left_open_is_renewed_once_and_then_posts_once(
    app: webtest.TestApp, inner: RecordingApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields = tokens_of(app)
    later = time.time() + 5 * 3600
    monkeypatch.setattr(time, "time", lambda: later)
    renewed = renew(app, fields).json["fields"]
    assert renew(app, fields).json["fields"] == renewed  # a double click: the same fresh tokens
    postback(app, renewed, "delete", "7")
    assert effects(inner) == 1


# -- forms that share a page token (see page_tokens) ------------------------------------------

ROWS_PAGE = "<html><body>" + "".join(
    f'<form method="post" action="/rows/{n}/delete"><button>Delete</button></form>'
    for n in range(1, 6)) + "</body></html>"


def test_each_form_of_a_page_token_is_spent_on_its_own(
    app: webtest.TestApp, inner: RecordingApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forms of a list page share one token: deleting row 2 spends row 2's form only,
    and neither its duplicate nor a renewal of another row brings it back."""
    inner.page = ROWS_PAGE
    body = app.get("/rows").body
    forms = [hidden_fields(body, index) for index in range(5)]
    assert len({form["__VIEWSTATE"] for form in forms}) == 1
    first = postback(app, forms[1], path="/rows/2/delete")
    again = postback(app, forms[1], path="/rows/2/delete")  # a double click
    assert again.body == first.body and effects(inner) == 1
    postback(app, forms[2], path="/rows/3/delete")  # another row of the same page
    assert effects(inner) == 2
    later = time.time() + 5 * 3600  # row 4 left open past max_age, then renewed
    monkeypatch.setattr(time, "time", lambda: later)
    fields = {name: forms[3][name] for name in ("__VIEWSTATE", "__EVENTVALIDATION")}
    renewed = app.post("/rows/4/delete", fields, headers={"X-Postback-Renew": "1"}).json
    signature = renewed["fields"]["__EVENTVALIDATION"].partition(".")[2]
    row_2 = {"__VIEWSTATE": renewed["fields"]["__VIEWSTATE"],
             "__EVENTVALIDATION": f"1.{signature}"}
    postback(app, row_2, path="/rows/2/delete", status=403)  # not a token for row 2
    assert effects(inner) == 2


# -- callbacks -----------------------------------------------------------------------------


@pytest.fixture
def call_server() -> Registry:
    registry = Registry()
    registry.add_callback("CallServer", lambda argument, request: "ok " + argument)
    return registry


def test_callbacks_stay_reusable_unless_their_option_says(
    inner: RecordingApp, store: Store, call_server: Registry
) -> None:
    app = webtest.TestApp(wrap(inner, store, registry=call_server))
    fields = tokens_of(app)
    for n in range(3):
        assert parse_success(callback(app, fields, "CallServer", str(n)).text)[1] == f"ok {n}"


def test_single_use_callbacks_accept_each_token_once(
    inner: RecordingApp, store: Store, call_server: Registry
) -> None:
    app = webtest.TestApp(wrap(inner, store, registry=call_server, single_use=False,
                               single_use_callbacks=True))
    fields = tokens_of(app)
    fresh, result = parse_success(callback(app, fields, "CallServer", "1").text)
    assert result == "ok 1"
    again = callback(app, fields, "CallServer", "1", status=409)
    assert again.text.startswith("e") and again.headers["X-Postback-Refused"] == "already-sent"
    # The answer's fresh event validation is the next one, good once as well.
    following = {**fields, "__EVENTVALIDATION": fresh}
    assert parse_success(callback(app, following, "CallServer", "2").text)[1] == "ok 2"
    callback(app, following, "CallServer", "2", status=409)
    # Postbacks are not affected: single_use is off.
    postback(app, fields, "delete", "7")
    postback(app, fields, "delete", "7")


# -- the store failing -----------------------------------------------------------------


def test_a_store_that_cannot_answer_refuses_the_postback_with_503(
    inner: RecordingApp, caplog: pytest.LogCaptureFixture
) -> None:
    app = webtest.TestApp(wrap(inner, UnreachableStore()))
    fields = tokens_of(app)  # a page needs no store
    with caplog.at_level(logging.WARNING, "postback_middleware"):
        refused = postback(app, fields, "delete", "7", status=503)
    assert effects(inner) == 0
    assert refused.headers["X-Postback-Refused"] == "unavailable"
    assert "connection refused" not in refused.text  # the reason is logged, not shown
    assert "connection refused (test)" in caplog.text


def test_a_redis_that_stopped_refuses_postbacks_until_it_is_back(
    inner: RecordingApp, tmp_path: Any
) -> None:
    with running_redis(tmp_path) as server:
        app = webtest.TestApp(wrap(inner, server.url))
        fields = tokens_of(app)
    refused = postback(app, fields, "delete", "7", status=503)  # (stopped: its socket gone)
    assert refused.headers["X-Postback-Refused"] == "unavailable"
    assert "redis" not in refused.text.lower()
    with running_redis(tmp_path):  # back, on the same socket (and empty: no persistence)
        postback(app, fields, "delete", "7")
    assert effects(inner) == 1


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["single_use", "single_use_callbacks", "server_viewstate"])
def test_an_option_that_needs_a_store_says_how_to_give_one(option: str) -> None:
    with pytest.raises(ConfigurationError, match=r"store='redis://.*store='memory:'"):
        PostbackMiddleware(RecordingApp(), secret_keys=[KEY], **{option: True})


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(Answer("postback", "200 OK", [("Content-Type", "text/html")], b"<p>ok</p>"),
                     id="page"),
        pytest.param(Answer("renew", "303 See Other", [("Location", "/x?\u00e9"),
                                                       ("Set-Cookie", "a=1"),
                                                       ("Set-Cookie", "b=2")], b""),
                     id="headers-repeated-non-ascii"),
        pytest.param(Answer("postback", "200 OK", [], bytes(range(256)) * 3), id="binary"),
    ],
)
def test_an_answer_is_kept_byte_exact(answer: Answer) -> None:
    assert Answer.from_bytes(answer.to_bytes()) == answer


def test_the_waiting_duplicate_looks_again_quickly_then_less_often() -> None:
    naps: list[float] = []
    clock = [1000.0]

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        clock[0] += seconds

    def now() -> float:
        return clock[0]

    single_use = SingleUse(MemoryStore(clock=now), max_age=60, renewal_window=0, clock=now,
                           sleep=sleep)
    assert not isinstance(single_use.claim("f", request="postback", issued_at=1000,
                                           first_issued=1000), Answer)
    with pytest.raises(AlreadySent, match="did not come within"):
        single_use.claim("f", request="postback", issued_at=1000, first_issued=1000)
    assert naps[:5] == list(SingleUse.poll_intervals)
    assert set(naps[5:]) == {SingleUse.poll_intervals[-1]}
    assert sum(naps) == pytest.approx(SingleUse.wait, abs=0.25)
