"""The distributions as a user gets them: built from a clean checkout, without a warning.

The sdist and the wheel are built once (``python -m build``, no isolation: the test extra
brings setuptools and build) from the files git tracks, as a release is; then each test reads
what they hold, and the sdist's own test suite runs from the unpacked sdist.
"""

from __future__ import annotations

import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

import postback_middleware

REPOSITORY = Path(__file__).resolve().parent.parent


@dataclass
class Built:
    output: str  # what the build printed
    sdist: Path
    wheel: Path

    def sdist_names(self) -> set[str]:
        with tarfile.open(self.sdist) as archive:
            # (each name without the "postback_middleware-X.Y.Z/" folder they all sit in)
            return {name.partition("/")[2] for name in archive.getnames()}

    def wheel_names(self) -> set[str]:
        with zipfile.ZipFile(self.wheel) as archive:
            return set(archive.namelist())

    def metadata(self) -> Message:
        with zipfile.ZipFile(self.wheel) as archive:
            [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
            return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))


def _tracked_files() -> list[str]:
    if shutil.which("git") is None or not (REPOSITORY / ".git").exists():
        pytest.skip("not a git checkout: the distributions are built from the tracked files")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPOSITORY, check=True,
                            capture_output=True).stdout.decode("utf-8")
    return [name for name in listed.split("\0") if name and (REPOSITORY / name).is_file()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    root = tmp_path_factory.mktemp("packaging")
    source = root / "checkout"
    for name in _tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPOSITORY / name, source / name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(root / "dist"),
         str(source)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    [sdist] = (root / "dist").glob("*.tar.gz")
    [wheel] = (root / "dist").glob("*.whl")
    yield Built(output, sdist, wheel)


def test_the_build_prints_no_warning(built: Built) -> None:
    warnings = [line for line in built.output.splitlines() if "warning" in line.lower()]
    assert warnings == []


def test_the_wheel_holds_the_package_its_data_and_the_license(built: Built) -> None:
    names = built.wheel_names()
    for expected in ("postback_middleware/py.typed", "postback_middleware/static/postback.js",
                     "postback_middleware/static/webforms.js",
                     "postback_middleware/html_scan/_cscan.pyi", "postback_middleware/_cseal.pyi",
                     f"postback_middleware-{postback_middleware.__version__}.dist-info/"
                     "licenses/LICENSE"):
        assert expected in names
    assert not [name for name in names if name.endswith(".c")]  # (the C source: sdist only)
    assert not [name for name in names if name.startswith(("tests/", "examples/"))]


def test_the_metadata_says_what_the_package_is(built: Built) -> None:
    metadata = built.metadata()
    assert metadata["Version"] == postback_middleware.__version__
    assert metadata["License-Expression"] == "MIT"
    classifiers = set(metadata.get_all("Classifier") or [])
    for expected in ("Programming Language :: Python :: 3.11",
                     "Programming Language :: Python :: 3.12",
                     "Programming Language :: Python :: 3.13", "Framework :: Django",
                     "Framework :: Flask", "Framework :: Pyramid", "Typing :: Typed"):
        assert expected in classifiers
    extras = set(metadata.get_all("Provides-Extra") or [])
    assert {"testing", "demo", "pserve", "paste", "redis", "test"} <= extras
    requires = metadata.get_all("Requires-Dist") or []
    # The testing extra is WebTest alone: what a user's own suite needs for testing.postback.
    assert [r for r in requires if 'extra == "testing"' in r] == [
        'WebTest>=3.0; extra == "testing"']


def test_the_sdist_carries_the_tests_examples_changelog_and_c_source(built: Built) -> None:
    names = built.sdist_names()
    for expected in ("LICENSE", "CHANGELOG.md", "README.md", "setup.py", "MANIFEST.in",
                     "postback_middleware/html_scan/_cscan.c", "postback_middleware/_cseal.c",
                     "tests/helpers.py",
                     "tests/servers.py", "tests/conftest.py", "tests/browser/conftest.py",
                     "tests/apps/ajax_app.py", "examples/demo.ini", "benchmarks/shapes.py"):
        assert expected in names
    assert any(name.startswith("tests/fixtures/") for name in names)
    assert not any(name.startswith("tests/browser/artifacts") for name in names)


def test_the_sdists_tests_run_from_the_unpacked_sdist(built: Built, tmp_path: Path) -> None:
    with tarfile.open(built.sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    [unpacked] = tmp_path.iterdir()
    # The package under test is the installed one (its compiled engine built); the tests,
    # helpers, fixtures and example apps are the sdist's.
    shutil.rmtree(unpacked / "postback_middleware")
    # Every test module of the sdist is collected (so each finds its helpers, fixtures and
    # data there), the same tests as the repository's...
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider"],
        cwd=unpacked, capture_output=True, text=True, timeout=600)
    assert collected.returncode == 0, (collected.stdout + collected.stderr)[-3000:]
    here = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider"],
        cwd=REPOSITORY, capture_output=True, text=True, timeout=600)
    assert _count(collected.stdout) == _count(here.stdout) > 3000
    # ...and a part of each suite runs there: unit, functional, real pages, the docs, the
    # real Redis, and Chromium's (the browser suite with its server and fixtures).
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         "tests/test_tokens.py", "tests/test_real_pages.py", "tests/test_wire.py",
         "tests/test_demo.py", "tests/test_readme.py", "tests/test_single_use.py",
         "tests/browser/test_single_use_browser.py"],
        cwd=unpacked, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout


def _count(collected: str) -> int:
    """The number of tests ``pytest --collect-only -q`` reported."""
    found = re.search(r"(\d+) tests? collected", collected)
    assert found is not None, collected[-500:]
    return int(found.group(1))
