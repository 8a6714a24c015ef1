"""Hypothesis strategies the scanner, injector, partial-postback and engine suites share."""

from __future__ import annotations

from hypothesis import strategies as st

_NAMES = [
    "form",
    "FORM",
    "Form",
    "p",
    "div",
    "a",
    "b",
    "input",
    "span",
    "table",
    "td",
    "tr",
    "select",
    "option",
    "textarea",
    "title",
    "script",
    "SCRIPT",
    "style",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "noscript",
    "svg",
    "math",
    "mi",
    "mtext",
    "foreignObject",
    "desc",
    "g",
    "font",
    "annotation-xml",
    "br",
    "img",
    "head",
    "body",
    "html",
    "x-y",
    "é",
]
_RAW = ["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noscript"]
_ATTR_NAMES = [
    "action",
    "method",
    "id",
    "ID",
    "class",
    "=x",
    'a"b',
    "x'",
    "data-x",
    "encoding",
    "color",
    "a<b",
    "é",
]
_VALUES = [
    "post",
    "",
    ">",
    "<form>",
    "a b",
    "&amp;",
    "&notit;",
    "&ampx",
    "&#65;",
    "/",
    "-->",
    "</script>",
    "text/html",
    "x=y",
    "é",
    "'",
    '"',
    "\n",
    "`",
]


@st.composite
def _attribute(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(_ATTR_NAMES))
    value = draw(st.sampled_from(_VALUES))
    style = draw(st.sampled_from(["bare", "dq", "sq", "unquoted", "spaced"]))
    if style == "bare":
        return name
    if style == "dq":
        return f'{name}="{value.replace(chr(34), "")}"'
    if style == "sq":
        return f"{name}='{value.replace(chr(39), '')}'"
    if style == "spaced":
        return f"{name} = '{value.replace(chr(39), '')}'"
    return f"{name}={value.replace(' ', '').replace(chr(10), '')}"


@st.composite
def _tag(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(_NAMES))
    attrs = draw(st.lists(_attribute(), max_size=3))
    separators = draw(
        st.lists(
            st.sampled_from([" ", " ", "/", "\n", ""]), min_size=len(attrs), max_size=len(attrs)
        )
    )
    body = "".join(sep + attr for sep, attr in zip(separators, attrs, strict=True))
    end = draw(st.sampled_from([">", ">", " >", "/>", " />"]))
    slash = draw(st.sampled_from(["", "", "/"]))
    return f"<{slash}{name}{body}{end}"


@st.composite
def _raw_element(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(_RAW))
    inner = draw(
        st.lists(
            st.sampled_from(
                [
                    "x",
                    "<b>",
                    "<!--",
                    "-->",
                    "<script>",
                    "</script>",
                    f"</{name}",
                    f"</{name.upper()}>",
                    f"</{name}x>",
                    "<",
                    "--",
                    "</",
                    "<!-->",
                ]
            ),
            max_size=6,
        )
    )
    close = draw(st.sampled_from([f"</{name}>", f"</{name} a='>'>", f"</{name}/>", ""]))
    return f"<{name}>{''.join(inner)}{close}"


# Pieces of markup that a document joins at random: tags of every kind with awkward attributes,
# raw-text elements with their near-miss end tags, comments, CDATA, foreign content.
HTML_FRAGMENTS = st.one_of(
    _tag(),
    _tag(),
    _raw_element(),
    st.sampled_from(
        [
            "text",
            " ",
            "\n",
            "\r\n",
            "a<b",
            "<",
            "< p>",
            "<3",
            "=",
            "'",
            '"',
            ">",
            "&amp;",
            "&",
            "é",
            "<!--c-->",
            "<!-->",
            "<!--->",
            "<!---->",
            "<!-- --!>",
            "<!-- <form> -->",
            "--!>",
            "-->",
            "<!DOCTYPE html>",
            "<?xml?>",
            "</ x>",
            "</3>",
            "</>",
            "<!x>",
            "<![CDATA[<form>]]>",
            "]]>",
            "<![CDATA[",
            "<svg>",
            "</svg>",
            "<math>",
            "</math>",
            "<svg><foreignObject>",
            "<math><mi>",
            "<select>",
            "</select>",
            "<table>",
            "</table>",
            "<td>",
        ]
    ),
)
