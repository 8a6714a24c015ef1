"""View state kept on the server (``server_viewstate``): the page carries a signed key, the app
sees its state as always, and every way the key or its entry can go wrong is refused."""

from __future__ import annotations

import base64
import json
import logging
import re
from typing import Any

import pytest
import webtest

from postback_middleware import PostbackMiddleware, Registry
from postback_middleware.stores import MemoryStore

from .helpers import (
    PAGE,
    RecordingApp,
    UnreachableStore,
    callback,
    grid_page,
    hidden_fields,
    new_key,
    parse_success,
    postback,
    tokens_of,
)

KEY = new_key()
NOTES = {"customer": "Ada Lovelace", "lines": [{"sku": f"A{n}", "qty": n} for n in range(200)]}


def remembering(state: dict[str, Any]) -> None:
    """The app's own state: a counter and a large structure it keeps across postbacks."""
    state["n"] = state.get("n", 0) + 1
    state["notes"] = NOTES


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def inner() -> RecordingApp:
    return RecordingApp(page=PAGE + PAGE, state_update=remembering)  # two post forms


def wrap(inner: Any, store: Any, **options: Any) -> webtest.TestApp:
    options = {"secret_keys": [KEY], "store": store, "server_viewstate": True, **options}
    return webtest.TestApp(PostbackMiddleware(inner, **options))


def token_data(token: str) -> Any:
    payload = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["d"]


def test_the_page_carries_a_key_and_the_app_gets_its_state_back(
    inner: RecordingApp, store: MemoryStore
) -> None:
    app = wrap(inner, store)
    page = app.get("/orders")
    fields = hidden_fields(page.body)
    assert isinstance(token_data(fields["__VIEWSTATE"]), str)  # a key, not the state
    assert "Lovelace" not in page.text
    following = postback(app, fields, "delete", "7")
    assert inner.calls[-1].viewstate == {"n": 1, "notes": NOTES}
    postback(app, hidden_fields(following.body), "delete", "7")
    assert inner.calls[-1].viewstate["n"] == 2


def test_pages_are_lighter_than_with_the_state_inline(inner: RecordingApp) -> None:
    inline = webtest.TestApp(PostbackMiddleware(inner, secret_keys=[KEY])).get("/orders")
    kept = wrap(inner, MemoryStore()).get("/orders")
    assert len(kept.body) < len(inline.body) - 2 * len(json.dumps(NOTES))  # once a form


def test_the_forms_of_one_page_share_one_entry_and_an_empty_state_none(
    store: MemoryStore,
) -> None:
    wrap(RecordingApp(page=PAGE + PAGE, state_update=remembering), store).get("/orders")
    assert len(store) == 1
    wrap(RecordingApp(page=PAGE + PAGE), store).get("/orders")  # the app keeps no state
    assert len(store) == 1


def test_forms_that_share_a_page_token_carry_the_key_too(store: MemoryStore) -> None:
    """A list page's forms share one page token (see page_tokens): it holds the key."""
    rows = "".join(f'<form method="post" action="/orders/{n}"><button>x</button></form>'
                   for n in range(1, 4))
    inner = RecordingApp(page=rows, state_update=remembering)
    app = wrap(inner, store)
    page = app.get("/orders")
    forms = [hidden_fields(page.body, index) for index in range(3)]
    assert len({form["__VIEWSTATE"] for form in forms}) == 1
    assert isinstance(token_data(forms[0]["__VIEWSTATE"]), str) and "Lovelace" not in page.text
    postback(app, forms[1], path="/orders/2")
    assert inner.calls[-1].viewstate == {"n": 1, "notes": NOTES}
    store.delete("viewstate:" + token_data(forms[0]["__VIEWSTATE"]))
    refused = postback(app, forms[2], path="/orders/3", status=403)
    assert refused.headers["X-Postback-Refused"] == "expired"


def test_a_state_gone_from_the_store_is_refused_as_expired(
    inner: RecordingApp, store: MemoryStore
) -> None:
    app = wrap(inner, store)
    fields = tokens_of(app)
    store.delete("viewstate:" + token_data(fields["__VIEWSTATE"]))  # evicted, or emptied
    refused = postback(app, fields, "delete", "7", status=403)
    assert refused.headers["X-Postback-Refused"] == "expired"
    assert not any(call.method == "POST" for call in inner.calls)


def test_switching_the_option_off_keeps_open_forms_working(
    inner: RecordingApp, store: MemoryStore
) -> None:
    kept = wrap(inner, store)
    fields = tokens_of(kept)
    app = wrap(inner, store, server_viewstate=False)
    app.cookiejar = kept.cookiejar
    postback(app, fields, "delete", "7")
    assert inner.calls[-1].viewstate["notes"] == NOTES


def test_a_key_without_a_store_to_read_it_from_is_refused(
    inner: RecordingApp, store: MemoryStore
) -> None:
    kept = wrap(inner, store)
    fields = tokens_of(kept)
    storeless = webtest.TestApp(PostbackMiddleware(inner, secret_keys=[KEY]))
    storeless.cookiejar = kept.cookiejar
    postback(storeless, fields, "delete", "7", status=403)


def test_a_store_that_cannot_keep_the_state_leaves_the_page_whole_and_its_forms_closed(
    inner: RecordingApp, caplog: pytest.LogCaptureFixture
) -> None:
    app = wrap(inner, UnreachableStore())
    with caplog.at_level(logging.ERROR, "postback_middleware"):
        page = app.get("/orders")
    assert page.status_int == 200 and "Delete 7" in page.text
    assert hidden_fields(page.body)["__VIEWSTATE"] == ""  # no tokens: postbacks are refused
    assert "could not keep a form's state" in caplog.text


# -- large event validations ---------------------------------------------------------------

GRID = grid_page()


@pytest.fixture
def grid() -> RecordingApp:
    return RecordingApp(page=GRID)


def test_a_large_event_validation_is_kept_too_and_checked_the_same(
    grid: RecordingApp, store: MemoryStore
) -> None:
    inline = webtest.TestApp(PostbackMiddleware(grid, secret_keys=[KEY])).get("/orders")
    app = wrap(grid, store)
    page = app.get("/orders")
    fields = hidden_fields(page.body)
    assert isinstance(token_data(fields["__EVENTVALIDATION"]), str)
    assert len(fields["__EVENTVALIDATION"]) < 400
    assert len(page.body) < len(inline.body) - 8000  # the offer is in the store, not the page
    offered = re.findall(r'data-postback-argument="([^"]+)"', GRID)
    postback(app, fields, "grid", offered[217])
    assert grid.calls[-1].event.argument == offered[217]
    postback(app, fields, "grid", "Edit$217:" + "0" * 24, status=403)  # not offered


def test_a_callback_refreshes_the_key_not_the_offer(grid: RecordingApp, store: MemoryStore
                                                   ) -> None:
    registry = Registry()
    registry.add_callback("CallServer", lambda argument, request: "ok")
    app = wrap(grid, store, registry=registry)
    fields = tokens_of(app)
    fresh, result = parse_success(callback(app, fields, "CallServer", "1").text)
    assert result == "ok" and isinstance(token_data(fresh), str) and len(fresh) < 400
    following = {**fields, "__EVENTVALIDATION": fresh}
    assert parse_success(callback(app, following, "CallServer", "2").text)[1] == "ok"


def test_a_small_event_validation_stays_in_the_page(inner: RecordingApp, store: MemoryStore
                                                   ) -> None:
    fields = tokens_of(wrap(inner, store))
    assert isinstance(token_data(fields["__EVENTVALIDATION"]), dict)
