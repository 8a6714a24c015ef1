"""Handler registration and lookup."""

from __future__ import annotations

from typing import Any

import pytest
from webob import Request, Response

from postback_middleware import Event, PostbackMiddleware, Registry
from postback_middleware.registry import page_callback_key

from .helpers import new_key

REQUEST = Request.blank("/")


def test_function_callback_and_none_result() -> None:
    registry = Registry()
    registry.add_callback("Echo", lambda argument, request: argument * 2)
    registry.add_callback("Nothing", lambda argument, request: None)
    assert registry.run_callback("Echo", "ab", REQUEST) == "abab"
    assert registry.run_callback("Nothing", "x", REQUEST) == ""


def test_two_step_class_gets_the_request_when_it_asks_for_it() -> None:
    registry = Registry()

    @registry.callback("Path")
    class Path:
        def __init__(self, request: Request) -> None:
            self.request = request

        def raise_callback_event(self, argument: str) -> None:
            self.argument = argument

        def get_callback_result(self) -> str:
            return f"{self.request.path}:{self.argument}"

    assert registry.run_callback("Path", "a", Request.blank("/orders")) == "/orders:a"


@pytest.mark.parametrize(
    "name",
    ["__class__", "os.system", "../x", "run_callback", "x" * 10_000, "CallServer\u200b",
     "\u0421allServer"],  # the last starts with a Cyrillic capital Es
)
def test_unknown_or_hostile_names_are_just_missing(name: str) -> None:
    registry = Registry()
    registry.add_callback("CallServer", lambda argument, request: "ok")
    assert not registry.has_callback(name)
    with pytest.raises(KeyError):
        registry.run_callback(name, "", REQUEST)


def test_non_string_result_is_an_error() -> None:
    registry = Registry()
    registry.add_callback("Number", lambda argument, request: 42)
    with pytest.raises(TypeError, match="int"):
        registry.run_callback("Number", "", REQUEST)


@pytest.mark.parametrize(
    ("name", "handler", "error"),
    [
        pytest.param("", lambda a, r: "", ValueError, id="empty-name"),
        pytest.param("x" * 257, lambda a, r: "", ValueError, id="long-name"),
        pytest.param("ok", "not callable", TypeError, id="not-callable"),
        pytest.param("ok", type("Half", (), {"raise_callback_event": lambda s, a: None}), TypeError,
                     id="class-missing-get-result"),
    ],
)
def test_bad_callback_registrations(name: str, handler: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        Registry().add_callback(name, handler)


def test_names_register_once() -> None:
    registry = Registry()
    registry.add_postback("delete", lambda event, request: None)
    with pytest.raises(ValueError, match="twice"):
        registry.add_postback("delete", lambda event, request: None)


def test_postback_handler_result() -> None:
    registry = Registry()
    registry.add_postback("go", lambda event, request: Response("done"))
    registry.add_postback("bad", lambda event, request: "a string")
    assert registry.run_postback(Event("go"), REQUEST).text == "done"  # type: ignore[union-attr]
    assert registry.run_postback(Event("other"), REQUEST) is None
    with pytest.raises(TypeError):
        registry.run_postback(Event("bad"), REQUEST)


def _pages() -> Registry:
    registry = Registry()
    registry.add_callback("__Page", lambda argument, request: "orders:" + argument,
                          page="/Orders.aspx")
    registry.add_callback("__Page", lambda argument, request: "admin:" + argument,
                          page="/Admin.aspx")
    registry.add_callback("Shared", lambda argument, request: "shared:" + argument)
    return registry


@pytest.mark.parametrize(
    ("name", "page", "expected"),
    [
        pytest.param("__Page", "/Orders.aspx", "orders:a", id="the-page-own-callback"),
        pytest.param("__Page", "/Admin.aspx", "admin:a", id="another-page-its-own"),
        pytest.param("Shared", None, "shared:a", id="a-callback-of-every-page"),
        pytest.param("__Page", "/orders.aspx", None, id="paths-are-exact"),
        pytest.param("__Page", None, None, id="no-page-no-page-callback"),
        pytest.param("Shared", "/Orders.aspx", None, id="a-page-has-only-its-own"),
    ],
)
def test_page_callbacks_run_on_their_page_only(name: str, page: str | None,
                                               expected: str | None) -> None:
    registry = _pages()
    assert registry.has_callback(name, page) == (expected is not None)
    if expected is None:
        with pytest.raises(KeyError):
            registry.run_callback(name, "a", REQUEST, page)
    else:
        assert registry.run_callback(name, "a", REQUEST, page) == expected


def test_forms_of_a_page_offer_its_callbacks_named_with_its_path() -> None:
    """A form's event validation names a page callback with its page, never as a bare name
    that a data-callbacks list could hold (nor the same name of another page)."""
    registry = _pages()
    assert registry.page_callbacks("/Orders.aspx") == (page_callback_key("/Orders.aspx",
                                                                          "__Page"),)
    assert registry.page_callbacks("/Other") == ()
    keys = {page_callback_key(path, name) for path in ("/a", "/a\"", '/a",', "/b")
            for name in ("__Page", "x", '",x', "__Page\"")}
    assert len(keys) == 16 and not keys & {"__Page", "x"}


@pytest.mark.parametrize(
    ("page", "message"),
    [
        pytest.param("Orders.aspx", "beginning with '/'", id="relative"),
        pytest.param("", "beginning with '/'", id="empty"),
        pytest.param(b"/Orders.aspx", "beginning with '/'", id="bytes"),
    ],
)
def test_a_page_is_a_path(page: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Registry().add_callback("__Page", lambda argument, request: "", page=page)


def test_a_page_callback_registered_twice_is_an_error() -> None:
    registry = _pages()
    with pytest.raises(ValueError, match="registered twice"):
        registry.add_callback("__Page", lambda argument, request: "", page="/Orders.aspx")


def _first(argument: str, request: Any) -> str:
    return "first"


def _second(argument: str, request: Any) -> str:
    return "second"


@pytest.mark.parametrize(
    ("add", "kind"),
    [
        pytest.param(lambda r, f: r.add_callback("Lookup", f), "callback", id="callback"),
        pytest.param(lambda r, f: r.add_callback("__Page", f, page="/Orders.aspx"), "callback",
                     id="page-callback"),
        pytest.param(lambda r, f: r.add_postback("delete", f), "postback", id="postback"),
    ],
)
def test_the_same_handler_again_is_no_error_another_one_is(add: Any, kind: str) -> None:
    """Two middlewares given one registry and the same handlers option (an app factory run
    twice) register each handler twice: that is the same registration, not a clash."""
    registry = Registry()
    add(registry, _first)
    add(registry, _first)
    with pytest.raises(ValueError, match=f"{kind} .* registered twice, with two different"):
        add(registry, _second)


def test_two_middlewares_on_one_registry_with_the_same_handlers_option() -> None:
    shared = Registry()
    for _ in range(2):
        PostbackMiddleware(lambda environ, start_response: [], registry=shared,
                           secret_keys=[new_key()], callbacks={"Lookup": _first},
                           postbacks={"delete": _first})
    assert shared.has_callback("Lookup")
