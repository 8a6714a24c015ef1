"""The client script asset, its tag, and CSP nonces."""

from __future__ import annotations

import re

import pytest

from postback_middleware.client import (
    ClientScript,
    compat_script,
    connect_blocked,
    script_nonce,
)


def test_script_url_changes_with_its_content() -> None:
    script = ClientScript("/_postback/")
    assert script.path == f"/_postback/postback.{script.version}.js"
    assert len(script.version) == 12
    assert b"WebForm_DoCallback" in script.body


def test_tag_is_valid_html_and_xhtml_and_carries_the_nonce() -> None:
    script = ClientScript("/_postback/")
    assert script.tag("/app", None) == (
        f'<script defer="defer" src="/app/_postback/postback.{script.version}.js"></script>'
    ).encode()
    assert b' nonce="r4nd0m"' in script.tag("", "r4nd0m")


STRICT_A = "script-src 'nonce-a' 'strict-dynamic'; object-src 'none'; base-uri 'none'"


@pytest.mark.parametrize(
    ("enforced", "reported", "nonce", "conflict"),
    [
        pytest.param([], [], None, False, id="no-policy"),
        pytest.param(["script-src 'nonce-abc' 'strict-dynamic'; object-src 'none'"], [], "abc",
                     False, id="script-src"),
        pytest.param(["default-src 'self' 'nonce-xyz='"], [], "xyz=", False, id="default-src"),
        pytest.param(["default-src 'nonce-d'; script-src 'nonce-s'"], [], "s", False,
                     id="script-src-wins"),
        pytest.param(["script-src 'nonce-s'; script-src-elem 'nonce-e'"], [], "e", False,
                     id="script-src-elem-wins"),
        pytest.param(["script-src 'self'; default-src 'nonce-d'"], [], None, False,
                     id="script-src-without-nonce"),
        pytest.param(["style-src 'nonce-css'"], [], None, False, id="style-nonce-ignored"),
        pytest.param(["script-src\t'nonce-tab'"], [], "tab", False, id="tab-separated"),
        pytest.param(["SCRIPT-SRC 'NONCE-up'"], [], "up", False, id="any-case-keywords"),
        pytest.param(["script-src 'nonce-first'; script-src 'nonce-dup'"], [], "first", False,
                     id="repeated-directive-ignored"),
        # (found by a red-team pass: only the first header was read)
        pytest.param(["frame-ancestors 'none'", STRICT_A], [], "a", False,
                     id="second-header"),
        pytest.param(["frame-ancestors 'none', " + STRICT_A], [], "a", False,
                     id="comma-joined"),
        pytest.param([STRICT_A, "script-src 'nonce-b' 'nonce-a'"], [], "a", False,
                     id="two-policies-agree"),
        pytest.param(["script-src 'nonce-b' 'nonce-a'", STRICT_A], [], "a", False,
                     id="the-one-both-allow"),
        pytest.param(["script-src https://cdn.example 'nonce-h'", STRICT_A], [], "a", False,
                     id="a-host-policy-does-not-bind"),
        pytest.param(["script-src https://cdn.example 'nonce-h'"], [], "h", False,
                     id="a-host-policy-gets-its-nonce"),
        pytest.param([STRICT_A, "script-src 'nonce-b' 'strict-dynamic'"], [], "a", True,
                     id="policies-disagree"),
        pytest.param([STRICT_A, "script-src 'none'"], [], "a", True, id="one-blocks-all"),
        pytest.param(["default-src 'self' 'strict-dynamic'"], [], None, True,
                     id="strict-dynamic-without-nonce"),
        pytest.param([], ["script-src 'nonce-r' 'strict-dynamic'"], "r", False,
                     id="report-only-alone"),
        pytest.param(["script-src 'nonce-a' 'nonce-b'"], ["script-src 'nonce-b'"], "b", False,
                     id="report-only-breaks-a-tie"),
        pytest.param([STRICT_A], ["script-src 'nonce-r'"], "a", False,
                     id="enforced-wins-over-report-only"),
        pytest.param([], ["script-src 'nonce-r'", "script-src 'nonce-q'"], "r", False,
                     id="report-only-never-conflicts"),
    ],
)
def test_script_nonce(enforced: list[str], reported: list[str], nonce: str | None,
                      conflict: bool) -> None:
    """The nonce that every enforced policy lets the tag through with, however the policies
    are given (a browser enforces each), preferring one the report-only ones name too."""
    assert script_nonce(enforced, reported) == (nonce, conflict)


@pytest.mark.parametrize(
    ("enforced", "blocking"),
    [
        pytest.param([], None, id="no-policy"),
        pytest.param(["script-src 'nonce-a'"], None, id="connections-unrestricted"),
        pytest.param(["default-src 'none'; script-src 'self'"], "default-src 'none'",
                     id="default-src-none"),
        pytest.param(["default-src 'self'"], None, id="default-src-self"),
        pytest.param(["default-src 'none'; connect-src 'self'"], None, id="connect-src-self"),
        pytest.param(["default-src 'self'; connect-src 'none'"], "connect-src 'none'",
                     id="connect-src-none"),
        pytest.param(["connect-src"], "connect-src", id="empty-connect-src"),
        pytest.param(["connect-src 'nonce-a' 'sha256-x='"], "connect-src 'nonce-a' 'sha256-x='",
                     id="only-keywords"),
        pytest.param(["CONNECT-SRC 'SELF'"], None, id="any-case-self"),
        pytest.param(["connect-src https:"], None, id="scheme-source-not-judged"),
        pytest.param(["connect-src https://api.example"], None, id="host-source-not-judged"),
        pytest.param(["connect-src *"], None, id="star"),
        pytest.param(["frame-ancestors 'none'", "default-src 'none'"], "default-src 'none'",
                     id="second-header"),
        pytest.param(["connect-src 'self', connect-src 'none'"], "connect-src 'none'",
                     id="comma-joined"),
    ],
)
def test_connect_blocked(enforced: list[str], blocking: str | None) -> None:
    """(found by a red-team pass) The directive that lets the page's script connect to no URL
    at all, so not to its own origin; a policy naming hosts is not judged (no guess)."""
    assert connect_blocked(enforced) == blocking


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        pytest.param("gzip, deflate, br", True, id="browser"),
        pytest.param("br;q=1.0, gzip;q=0.5", True, id="weighted"),
        pytest.param("gzip;q=0", False, id="refused"),
        pytest.param("gzip;q=0.000", False, id="refused-zeros"),
        pytest.param("identity", False, id="identity"),
        pytest.param("", False, id="none"),
    ],
)
def test_script_is_served_gzipped_to_browsers_that_accept_it(accept: str, gzipped: bool) -> None:
    import gzip

    from webob import Request

    script = ClientScript("/_postback/")
    request = Request.blank(script.path, headers={"Accept-Encoding": accept} if accept else {})
    response = request.get_response(script.serve)
    assert response.headers["Vary"] == "Accept-Encoding"
    assert (response.headers.get("Content-Encoding") == "gzip") is gzipped
    body = gzip.decompress(response.body) if gzipped else response.body
    assert body == script.body
    if gzipped:
        assert len(response.body) < len(script.body) / 2


@pytest.mark.parametrize(
    ("method", "headers", "status", "has_body"),
    [
        pytest.param("GET", {}, 200, True, id="get"),
        pytest.param("HEAD", {}, 200, False, id="head"),
        pytest.param("GET", {"If-None-Match": "{etag}"}, 304, False, id="not-modified"),
        pytest.param("GET", {"If-None-Match": 'W/"old", {etag}'}, 304, False, id="in-a-list"),
        pytest.param("GET", {"If-None-Match": '"old"'}, 200, True, id="changed"),
        pytest.param("POST", {}, 405, False, id="post"),
    ],
)
def test_script_answers(method: str, headers: dict[str, str], status: int, has_body: bool) -> None:
    from webob import Request

    script = ClientScript("/_postback/")
    etag = f'"{script.version}"'
    request = Request.blank(script.path, method=method,
                            headers={k: v.replace("{etag}", etag) for k, v in headers.items()})
    response = request.get_response(script.serve)
    assert response.status_int == status
    assert (response.body == script.body) is has_body
    if status in (200, 304):
        assert response.headers["ETag"] == etag


@pytest.mark.parametrize(
    ("accept", "if_none_match", "status", "gzipped"),
    [
        pytest.param("gzip", "", 200, True, id="gzip"),
        pytest.param("identity", "", 200, False, id="identity"),
        pytest.param("gzip", "{gzip}", 304, True, id="gzip-not-modified"),
        pytest.param("gzip", "W/{gzip}", 304, True, id="gzip-weak-not-modified"),
        pytest.param("identity", "{identity}", 304, False, id="identity-not-modified"),
        pytest.param("gzip", "{identity}", 200, True, id="identity-copy-held-gzip-accepted"),
        pytest.param("identity", "{gzip}", 200, False, id="gzip-copy-held-gzip-refused"),
        pytest.param("gzip", '"old", {identity}, {gzip}', 304, True, id="both-in-a-list"),
    ],
)
def test_each_coding_of_the_script_has_its_own_etag(
    accept: str, if_none_match: str, status: int, gzipped: bool
) -> None:
    """(found by a red-team pass) The gzip and identity copies shared one strong ETag, which
    names one representation (RFC 9110, 8.8.3): the gzip one's ends in -gzip, and a 304 is
    given for the copy the request would get."""
    from webob import Request

    script = ClientScript("/_postback/")
    etags = {"identity": f'"{script.version}"', "gzip": f'"{script.version}-gzip"'}
    headers = {"Accept-Encoding": accept}
    if if_none_match:
        headers["If-None-Match"] = if_none_match.format(**etags)
    response = Request.blank(script.path, headers=headers).get_response(script.serve)
    assert response.status_int == status
    assert response.headers["ETag"] == etags["gzip" if gzipped else "identity"]
    assert response.headers["Vary"] == "Accept-Encoding"
    if status == 200:
        assert (response.headers.get("Content-Encoding") == "gzip") is gzipped
        assert response.body == (script.gzipped if gzipped else script.body)


def test_the_script_is_the_core_then_the_webforms_functions() -> None:
    """One script, one request: the WebForms.js functions are there on every page."""
    script = ClientScript("/_postback/")
    compat = compat_script()
    assert script.body.endswith(b"\n" + compat.body)
    assert b"WebForm_DoPostBackWithOptions" in compat.body
    assert compat.content_type == "application/javascript; charset=utf-8"
    assert compat.cache_control == "no-cache"  # (served at the page's own WebResource.axd URL)


# -- static guards on the script's source ------------------------------------------------------

_SOURCE = ClientScript("/_postback/").body.decode("utf-8")
# Without its comments (which name the very properties they warn about).
_CODE = re.sub(r"/\*.*?\*/|//[^\n]*", "", _SOURCE, flags=re.DOTALL)


def test_script_is_csp_strict() -> None:
    assert not re.search(r"\beval\s*\(|new\s+Function\b|setTimeout\(\s*[\"']", _SOURCE)
    assert not re.search(r"""setAttribute\(\s*["']on""", _SOURCE)  # no inline handlers


def test_script_never_renders_an_answer_from_a_blob_url() -> None:
    """Answers that are not plain HTML are replayed (a real navigation) or saved as a file."""
    assert "location.assign(URL.createObjectURL" not in _SOURCE
    # The one blob: URL is an octet-stream download (an <a download>), never a document.
    assert _SOURCE.count("createObjectURL") == 1
    assert 'type: "application/octet-stream"' in _SOURCE


def test_form_methods_and_properties_are_never_looked_up_on_a_form() -> None:
    """A control named like the property shadows it: everything goes through the prototypes."""
    names = ("querySelector|getAttribute|hasAttribute|setAttribute|removeAttribute|closest|"
             "contains|insertBefore|submit|onsubmit|action|enctype|method|target|elements|"
             "isConnected|firstChild|childNodes|innerHTML|id|focus|requestSubmit")
    for variable in ("form", "theForm", "p", "el", "active"):
        found = re.findall(rf"(?<![\w.]){variable}\.({names})\b(?!\s*=[^=])", _CODE)
        assert found == [], (variable, found)


@pytest.mark.parametrize(("aspnet_ajax", "attribute"), [
    pytest.param(False, False, id="off-the-script-posts-the-whole-page"),
    pytest.param(True, True, id="on-it-leaves-microsofts-client-its-postbacks"),
])
def test_the_script_is_told_when_microsofts_client_is_answered(aspnet_ajax: bool,
                                                               attribute: bool) -> None:
    """Only with aspnet_ajax does the script leave a __doPostBack that Microsoft's client
    wrapped (its async postbacks are answered then; without the option they would fail)."""
    tag = ClientScript("/_postback/", aspnet_ajax=aspnet_ajax).tag("", None)
    assert (b' data-aspnet-ajax="true"' in tag) is attribute


def test_a_tag_without_nonce_is_made_once_per_mount_point_and_is_the_same() -> None:
    script = ClientScript("/_postback/", max_age=600)
    first = script.tag("//a.example/app", None)
    assert script.tag("//a.example/app", None) is first  # (made once)
    assert first == script._tag("//a.example/app", None)
    assert script.tag("//b.example", None) == script._tag("//b.example", None) != first
    with_nonce = script.tag("//a.example/app", "n1")
    assert b' nonce="n1"' in with_nonce and script.tag("//a.example/app", "n2") != with_nonce
    assert script.tag("//a.example/app", None) == first  # (a nonce is never kept)
