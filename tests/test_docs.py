"""The documentation site (MkDocs, ``mkdocs.yml`` and ``docs/``) builds with ``--strict`` (no
broken link, no page left out of the nav, no missing snippet), every page of its nav exists and
is in the built site, and the README's links into it lead to pages that exist."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import ROOT, markdown_section


def require_mkdocs() -> None:
    """Skip without MkDocs (and its Material theme); under ``CI=true``, fail instead."""
    missing = [name for name in ("mkdocs", "material", "pymdownx", "yaml")
               if importlib.util.find_spec(name) is None]
    if missing:
        message = f"mkdocs is not installed ({', '.join(missing)} missing): pip install '.[test]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def nav_pages() -> list[str]:
    """The pages of mkdocs.yml's nav, in order (paths under docs/)."""
    require_mkdocs()
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["docs_dir"] == "docs" and config["theme"]["name"] == "material"

    def walk(entries: Any) -> Iterator[str]:
        for entry in entries:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            if isinstance(value, list):
                yield from walk(value)
            else:
                yield value

    return list(walk(config["nav"]))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once with ``mkdocs build --strict``."""
    require_mkdocs()
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return out


def test_the_site_builds_strictly_with_every_nav_page(site: Path) -> None:
    pages = nav_pages()
    for page in ("index.md", "tutorial.md", "security.md", "performance.md", "changelog.md",
                 "how-to/key-rotation.md", "reference/options.md", "reference/wire-format.md"):
        assert page in pages
    for page in pages:
        assert (ROOT / "docs" / page).is_file(), page
        built = page.removesuffix(".md")
        built = "index.html" if built == "index" else f"{built}/index.html"
        assert (site / built).is_file(), built


def test_every_markdown_file_in_docs_is_in_the_nav() -> None:
    on_disk = {path.relative_to(ROOT / "docs").as_posix()
               for path in (ROOT / "docs").rglob("*.md")}
    assert on_disk == set(nav_pages())


def test_the_changelog_page_is_the_changelog(site: Path) -> None:
    """One copy: the page includes CHANGELOG.md, whose first entry's heading is on it."""
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    first = re.search(r"^## (.+)$", changelog, re.M)
    assert first is not None
    assert first.group(1).split(" ")[0] in (site / "changelog" / "index.html").read_text("utf-8")


def test_the_frameworks_page_includes_the_readmes_quickstarts(site: Path) -> None:
    built = (site / "reference" / "frameworks" / "index.html").read_text(encoding="utf-8")
    assert "--8&lt;--" not in built and "--8<--" not in built
    for name in ("create_app", "with_django_request", "make_wsgi_app", "shop_bottle.py"):
        assert name in built, name


def test_the_readmes_links_into_the_docs_lead_to_pages() -> None:
    links = re.findall(r"\]\((docs/[^)#]+)", markdown_section("README.md", "Documentation"))
    assert len(links) >= 15
    for link in links:
        assert (ROOT / link).is_file(), link
    assert set(nav_pages()) - {"index.md", "changelog.md"} <= {
        link.removeprefix("docs/") for link in links}
