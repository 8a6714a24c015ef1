"""Saved real-world pages: the scanner against html5lib, whole and in pieces, and the injector.

The pages live in ``tests/fixtures/pages/`` (their sources and licences are in its README.md).
Each is checked as the generated corpus of ``test_html_scan`` / ``test_inject`` is: the scanner
finds the tags html5lib's tokenizer gives its tree builder, its offsets slice the tags exactly,
scanning in pieces changes nothing, and the injector only inserts, giving every same-origin POST
form that html5lib's tree has exactly one of each field.
"""

from __future__ import annotations

from pathlib import Path

import html5lib
import pytest

from postback_middleware.html_scan import iter_tags
from postback_middleware.inject import action_path

from .helpers import INJECTOR_SCRIPT_TAG as SCRIPT
from .helpers import INSERTED, injector, streamed
from .html_reference import as_tuples, assert_offsets, html5lib_tags, scanned_in_pieces

# Every test here runs once per scanner engine (python, compiled).
pytestmark = pytest.mark.usefixtures("scanner_engine")

PAGES = Path(__file__).parent / "fixtures" / "pages"

# file name -> (encoding the page is served in, the URL it was served from)
PAGE_INFO = {
    "nodejs-api-url.html": ("utf-8", "https://nodejs.org/api/url.html"),
    "rustdoc-std-io-bufreader.html": (
        "utf-8", "https://doc.rust-lang.org/std/io/struct.BufReader.html"),
    # These two declare ISO-8859-1, which HTML reads as windows-1252.
    "ogame-fleet-iso-8859-1.html": ("windows-1252", "http://es.ogame.org/game/flotten1.php"),
    "libxslt-news-iso-8859-1.html": ("windows-1252", "http://xmlsoft.org/XSLT/news.html"),
}
FILES = sorted(p.name for p in PAGES.glob("*.html"))
SMALL = 16 * 1024  # pages up to this size are also fed 7 bytes, and 1 byte, at a time
FIELDS = (b"__EVENTTARGET", b"__EVENTARGUMENT", b"__VIEWSTATE", b"__EVENTVALIDATION")


def test_every_page_is_described() -> None:
    assert FILES, "no fixture pages found"
    assert sorted(PAGE_INFO) == FILES
    readme = (PAGES / "README.md").read_text(encoding="utf-8")
    assert all(name in readme for name in FILES)


def load(name: str) -> tuple[bytes, str, str]:
    encoding, page_url = PAGE_INFO[name]
    return (PAGES / name).read_bytes(), encoding, page_url


@pytest.mark.parametrize("name", FILES)
def test_page_matches_html5lib(name: str) -> None:
    page, encoding, _ = load(name)
    expected = html5lib_tags(page.decode(encoding))
    tags = list(iter_tags(page, encoding=encoding))
    assert [(t.is_end, t.name, dict(t.attrs)) for t in tags] == expected
    # assert_offsets re-scans each span as UTF-8; the encoding only decodes names and values,
    # so the tags found reading the page as UTF-8 are at the same offsets.
    as_utf8 = list(iter_tags(page))
    assert [(t.start, t.end) for t in as_utf8] == [(t.start, t.end) for t in tags]
    assert_offsets(page, as_utf8)


def cut_every(size: int, length: int) -> list[int]:
    return list(range(size, length, size))


@pytest.mark.parametrize("name", FILES)
def test_page_scanned_in_pieces(name: str) -> None:
    page, encoding, _ = load(name)
    whole = as_tuples(list(iter_tags(page, encoding=encoding)))
    sizes = [1024, 8192, 4093] + ([7, 1] if len(page) <= SMALL else [])
    for size in sizes:
        pieces = scanned_in_pieces(page, cut_every(size, len(page)), encoding=encoding)
        assert as_tuples(pieces) == whole, f"pieces of {size} bytes"


def html5lib_post_forms(text: str, page_url: str) -> list[str]:
    """The action paths of the same-origin POST forms in html5lib's tree, in tree order."""
    tree = html5lib.parse(text, namespaceHTMLElements=False)
    paths = []
    for form in tree.iter("form"):
        if form.get("method", "").lower() != "post":
            continue
        path = action_path(form.get("action"), page_url)
        if path is not None:
            paths.append(path)
    return paths


@pytest.mark.parametrize("name", FILES)
def test_page_injector_only_inserts(name: str) -> None:
    page, encoding, page_url = load(name)
    expected = html5lib_post_forms(page.decode(encoding), page_url)
    assert not any(field in page for field in FIELDS)  # so every one counted below was added

    editor = injector(page_url=page_url, encoding=encoding)
    whole = editor.edit(page)
    assert sorted(form.action_path for form in editor.forms) == sorted(expected)
    assert not any(form.posts_elsewhere for form in editor.forms)
    outputs = {"whole": whole}
    for size in (1024, 8192):
        outputs[f"pieces of {size}"] = streamed(page, cut_every(size, len(page)),
                                                page_url=page_url, encoding=encoding)
    for size in (7, 1) if len(page) <= SMALL else ():
        outputs[f"pieces of {size}"] = streamed(page, cut_every(size, len(page)),
                                                page_url=page_url, encoding=encoding)
    for how, out in outputs.items():
        assert INSERTED.sub(b"", out) == page, how
        for field in FIELDS:
            assert out.count(b'name="' + field + b'"') == len(expected), (how, field)
        assert out.count(SCRIPT) == (1 if expected else 0), how


def test_some_page_has_post_forms() -> None:
    """The rewriter test above is not vacuous: at least one page has same-origin POST forms."""
    counts = []
    for name in FILES:
        page, encoding, page_url = load(name)
        counts.append(len(html5lib_post_forms(page.decode(encoding), page_url)))
    assert any(counts)


def test_pages_are_small() -> None:
    sizes = [(PAGES / name).stat().st_size for name in FILES]
    assert max(sizes) <= 300 * 1024
    assert sum(sizes) <= 1024 * 1024

