"""The references ASP.NET's ClientScriptManager writes, made from Python (``aspnet.references``)."""

from __future__ import annotations

import html.parser
import json

import pytest

from postback_middleware import callback_reference


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(("CallServer", "arg", "HandleResult", "context"),
                     "WebForm_DoCallback('CallServer',arg,HandleResult,context,null,false)",
                     id="aspnet-example"),
        pytest.param(("Grid", "'Sort$Name'", "done", "null", "failed", True),
                     "WebForm_DoCallback('Grid','Sort$Name',done,null,failed,true)",
                     id="error-callback-and-async"),
        pytest.param(("</script><b x='1'>&", "a", "f", "c"),
                     "WebForm_DoCallback('\\u003c/script\\u003e\\u003cb x=\\u0027"
                     "1\\u0027\\u003e\\u0026',a,f,c,null,false)",
                     id="target-safe-in-html"),
    ],
)
def test_callback_reference(args: tuple[object, ...], expected: str) -> None:
    assert callback_reference(*args) == expected  # type: ignore[arg-type]


TARGETS = ["CallServer", 'Call"Server', "x\" onfocus=alert(1) autofocus \"", "it's", 'a\\"b',
           "\u2028</script>", "Grid$ctl02"]


@pytest.mark.parametrize("target", TARGETS)
def test_the_reference_stays_one_attribute_value_and_names_its_target(target: str) -> None:
    """(found by a red-team pass: its double quotes ended ``onclick="..."``, and a target
    holding one added attributes of its own) Written into a double-quoted attribute, as
    ASP.NET's is, the text is that attribute's whole value, and its literal spells the
    target."""
    reference = callback_reference(target, "arg", "done", "null")
    attributes: list[list[tuple[str, str | None]]] = []

    class Reader(html.parser.HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            attributes.append(attrs)

    Reader().feed(f'<a onclick="{reference}" href=#>x</a>')
    assert attributes == [[("onclick", reference), ("href", "#")]]
    literal = reference.removeprefix("WebForm_DoCallback(").split(",arg,")[0]
    assert literal[0] == literal[-1] == "'" and json.loads(f'"{literal[1:-1]}"') == target
