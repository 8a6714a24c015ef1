"""The references ASP.NET's ClientScriptManager writes, made from Python (``aspnet.references``)."""

from __future__ import annotations

import pytest

from postback_middleware import callback_reference


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(("CallServer", "arg", "HandleResult", "context"),
                     'WebForm_DoCallback("CallServer",arg,HandleResult,context,null,false)',
                     id="aspnet-example"),
        pytest.param(("Grid", "'Sort$Name'", "done", "null", "failed", True),
                     "WebForm_DoCallback(\"Grid\",'Sort$Name',done,null,failed,true)",
                     id="error-callback-and-async"),
        pytest.param(("</script><b x='1'>&", "a", "f", "c"),
                     'WebForm_DoCallback("\\u003c/script\\u003e\\u003cb x=\\u0027'
                     '1\\u0027\\u003e\\u0026",a,f,c,null,false)',
                     id="target-safe-in-html"),
    ],
)
def test_callback_reference(args: tuple[object, ...], expected: str) -> None:
    assert callback_reference(*args) == expected  # type: ignore[arg-type]
