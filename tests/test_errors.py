"""One exception hierarchy: every error the library raises is a ``PostbackError``, and a
developer's mistake is also the builtin error it stands for."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from postback_middleware import (
    EngineUnavailable,
    InvalidArgument,
    InvalidType,
    PostbackError,
    PostbackMiddleware,
    Registry,
    UnknownOption,
    UsageError,
    html_scan,
)
from postback_middleware.stores import MemoryStore
from postback_middleware.tokens import Purpose, TokenSigner

from .helpers import new_key


def registered_twice() -> None:
    registry = Registry()
    registry.add_callback("A", lambda argument, request: "")
    registry.add_callback("A", lambda argument, request: "")


def not_callable() -> None:
    Registry().add_postback("A", "not a function")


def view_state_not_json() -> None:
    signer = TokenSigner([new_key().encode()], max_age=60, max_size=10_000)
    signer.sign(Purpose.VIEWSTATE, {"when": object()}, path="/", user=None, form_id="f")


def view_state_too_large() -> None:
    signer = TokenSigner([new_key().encode()], max_age=60, max_size=100)
    signer.sign(Purpose.VIEWSTATE, {"big": "x" * 200}, path="/", user=None, form_id="f")


def compiled_engine_for_utf16() -> None:
    html_scan.TagScanner(encoding="utf-16", engine="compiled")


def misspelt_option() -> None:
    PostbackMiddleware(lambda environ, start_response: [], secret_keys=[new_key()], max_ag=60)


def store_value_not_bytes() -> None:
    MemoryStore().put("k", "text", expires_at=0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mistake", "error", "builtin"),
    [
        pytest.param(registered_twice, InvalidArgument, ValueError, id="handler-registered-twice"),
        pytest.param(not_callable, InvalidType, TypeError, id="handler-not-callable"),
        pytest.param(view_state_not_json, InvalidArgument, ValueError, id="view-state-not-json"),
        pytest.param(view_state_too_large, InvalidArgument, ValueError,
                     id="view-state-over-max-state-size"),
        pytest.param(compiled_engine_for_utf16, InvalidArgument, ValueError,
                     id="compiled-engine-cannot-read-utf-16"),
        pytest.param(misspelt_option, UnknownOption, TypeError, id="misspelt-option"),
        pytest.param(store_value_not_bytes, InvalidType, TypeError, id="store-value-not-bytes"),
    ],
)
def test_mistakes_raise_from_the_one_hierarchy(
    mistake: Callable[[], None], error: type[Exception], builtin: type[Exception]
) -> None:
    if mistake is compiled_engine_for_utf16 and "compiled" not in html_scan.ENGINES:
        # (no compiler: the engine's absence is said first)
        error, builtin = EngineUnavailable, RuntimeError
    with pytest.raises(error) as raised:
        mistake()
    assert isinstance(raised.value, UsageError) and isinstance(raised.value, PostbackError)
    assert isinstance(raised.value, builtin)
