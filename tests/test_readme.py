"""The documentation's code run as written: the README's quickstarts (one per framework), the
tutorial and the testing example of the docs site, the option table and the map of the package.

The code blocks are taken from README.md and the pages in ``docs/`` themselves, so the
documentation cannot drift from the API.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import re
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import webtest

import postback_middleware
from postback_middleware import Options
from postback_middleware.testing import CallbackFailed, callback, postback

from .helpers import code_blocks, markdown_section, new_key

TUTORIAL = "docs/tutorial.md"


def tutorial_key() -> str:
    """The key the tutorial's first step creates, by running its command."""
    [shell] = code_blocks(TUTORIAL, "Five-minute tutorial", "sh")
    command = re.search(r"export POSTBACK_SECRET_KEYS=\"\$\(python -c '(.*?)'\)\"", shell)
    assert command is not None, shell
    made = subprocess.run([sys.executable, "-c", command.group(1)], capture_output=True,
                          text=True, check=True)
    return made.stdout.strip()


def test_tutorial_creates_the_key_before_reading_it() -> None:
    section = markdown_section(TUTORIAL, "Five-minute tutorial")
    assert section.index("export POSTBACK_SECRET_KEYS=") < section.index("os.environ[")


def tutorial_app(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[int]]:
    """The tutorial's Python block around an inner app that renders the tutorial's markup."""
    [markup] = code_blocks(TUTORIAL, "Five-minute tutorial", "html")
    [wiring] = code_blocks(TUTORIAL, "Five-minute tutorial", "python")
    orders = [17, 18]
    row = re.search(r"<tr>.*?</tr>", markup, re.DOTALL)
    assert row is not None

    def inner_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        rows = "".join(row.group(0).replace("17", str(number)) for number in orders)
        page = markup.replace(row.group(0), rows)
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [f"<!DOCTYPE html><title>orders</title>{page}".encode()]

    monkeypatch.setenv("POSTBACK_SECRET_KEYS", tutorial_key())
    namespace: dict[str, Any] = {"inner_app": inner_app, "orders": orders}
    exec(compile(wiring, f"{TUTORIAL} (wiring)", "exec"), namespace)
    return namespace["app"], orders


def test_tutorial_postback_runs_the_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    wrapped, orders = tutorial_app(monkeypatch)
    app = webtest.TestApp(wrapped)
    page = app.get("/")
    assert 'data-postback-argument="18"' in page.text
    page = postback(page, "delete", "17")
    assert orders == [18]
    assert 'data-postback-argument="17"' not in page.text
    with pytest.raises(webtest.AppError, match="403"):  # no longer on the page: refused
        postback(page, "delete", "17")
    assert orders == [18]


def test_tutorial_callback_answers_without_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    wrapped, _ = tutorial_app(monkeypatch)
    app = webtest.TestApp(wrapped)
    page = app.get("/")
    result = callback(app, page, "CallServer", "7")
    assert result == "Calling server was successful. The passed argument was 7"
    with pytest.raises(CallbackFailed):
        callback(app, page, "NoSuchCallback", "7")


def test_testing_example_is_valid_python() -> None:
    """The "Testing your app" example compiles and uses only names the module exports."""
    [example] = code_blocks("docs/how-to/testing.md", "Testing your app", "python")
    compile(example, "docs/how-to/testing.md", "exec")
    imported = re.search(r"from postback_middleware.testing import (.+)", example)
    assert imported is not None
    import postback_middleware.testing as testing

    for name in imported.group(1).split(","):
        assert hasattr(testing, name.strip())


def quickstart_blocks(language: str = "python") -> dict[str, str]:
    """The README's quickstart blocks, by the file each one's first line names."""
    return {block.splitlines()[0].removeprefix("# "): block
            for block in code_blocks("README.md", "Quickstart", language)}


def test_every_framework_has_a_quickstart() -> None:
    titles = re.findall(r"^### (.+)$", markdown_section("README.md", "Quickstart"), re.M)
    assert titles == ["Plain WSGI", "Flask", "Django", "Pyramid (pserve)", "Bottle"]


def calls_server(application: Any) -> str:
    """What the quickstart's page gets from its CallServer callback with "7"."""
    web = webtest.TestApp(application)
    return callback(web, web.get("/"), "CallServer", "7")


def test_plain_wsgi_quickstart_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTBACK_SECRET_KEYS", new_key())
    namespace: dict[str, Any] = {"__name__": "hello"}
    exec(compile(quickstart_blocks()["hello.py"], "README.md (WSGI)", "exec"), namespace)
    assert calls_server(namespace["application"]) == "You sent 7"


def test_bottle_quickstart_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTBACK_SECRET_KEYS", new_key())
    namespace: dict[str, Any] = {"__name__": "shop_bottle"}
    exec(compile(quickstart_blocks()["shop_bottle.py"], "README.md (Bottle)", "exec"), namespace)
    assert calls_server(namespace["application"]) == "You sent 7"


def test_pyramid_quickstart_runs_as_written(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """myapp.py and development.ini, loaded as pserve loads them (PasteDeploy's loadapp)."""
    from paste.deploy import loadapp

    monkeypatch.setenv("POSTBACK_SECRET_KEYS", new_key())
    module = types.ModuleType("myapp")
    exec(compile(quickstart_blocks()["myapp.py"], "README.md (Pyramid)", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, "myapp", module)
    ini = tmp_path / "development.ini"
    ini.write_text(quickstart_blocks("ini")["development.ini"], encoding="utf-8")
    assert calls_server(loadapp(f"config:{ini}")) == "You sent 7"


def test_flask_quickstart_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTBACK_SECRET_KEYS", f"{new_key()} {new_key()}")  # (new, old)
    namespace: dict[str, Any] = {"__name__": "readme_app"}
    exec(compile(quickstart_blocks()["app.py"], "README.md (Flask)", "exec"), namespace)
    app = namespace["create_app"]()
    app.add_url_rule("/", "page", lambda: '<form method="post" data-callbacks="CallServer">'
                                          '<input name="q"></form>')
    assert app.extensions["postback"] is namespace["postback"]
    web = webtest.TestApp(app)
    assert callback(web, web.get("/"), "CallServer", "7") == "You sent 7"


def test_django_quickstart_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """settings.py, shop/callbacks.py and wsgi.py as the README writes them, in the settings of
    the Django example (one configuration a process), its page offering CallServer."""
    from django.test import override_settings
    from frameworks.django_app import configure

    configure()
    blocks = quickstart_blocks()
    monkeypatch.setenv("POSTBACK_SECRET_KEYS", new_key())
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "shop.settings")  # (configured already)
    project: dict[str, Any] = {}
    exec(compile(blocks["settings.py"], "README.md (Django settings)", "exec"), project)
    shop, handlers = types.ModuleType("shop"), types.ModuleType("shop.callbacks")
    shop.__path__ = []
    exec(compile(blocks["shop/callbacks.py"], "README.md (Django handlers)", "exec"),
         handlers.__dict__)
    monkeypatch.setitem(sys.modules, "shop", shop)
    monkeypatch.setitem(sys.modules, "shop.callbacks", handlers)
    with override_settings(
        POSTBACK=project["POSTBACK"],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                    "django.contrib.auth.middleware.AuthenticationMiddleware"],
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes",
                        "django.contrib.sessions"],
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    ):
        wsgi: dict[str, Any] = {}
        exec(compile(blocks["wsgi.py"], "README.md (Django wsgi.py)", "exec"), wsgi)
        web = webtest.TestApp(wsgi["application"])
        assert callback(web, web.get("/"), "CallServer", "7") == "AnonymousUser sent 7"


def option_table() -> dict[str, str]:
    """The option table of the docs' Options page: each option name with its default cell."""
    body = markdown_section("docs/reference/options.md", "Options")
    table: dict[str, str] = {}
    for line in body.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        if line.startswith("| `") and len(cells) == 3:
            for name in re.findall(r"`(\w+)`", cells[0]):
                table[name] = cells[1]
    return table


def readme_default(default: Any) -> str:
    """How the option table spells a default."""
    if default is None or default == ():
        return "none"
    if isinstance(default, bool):
        return "`true`" if default else "`false`"
    return f"`{default}`"


def test_option_table_lists_every_option_with_its_default() -> None:
    table = option_table()
    declared = {option.name: option for option in dataclasses.fields(Options)}
    assert set(table) == set(declared), "the docs' option table and Options differ"
    for name, option in declared.items():
        expected = "(required)" if name == "secret_keys" else readme_default(option.default)
        assert table[name].split(" (")[0] == expected.split(" (")[0], name


def package_map() -> dict[str, str]:
    """The map of the package (docs, Development): each module name with what it owns."""
    page = markdown_section("docs/development.md", "Development")
    body = page.split("\nThe package, in the order a request meets it", 1)[1].split("\n\n", 2)[1]
    rows = [line.strip("|").split(" | ", 1) for line in body.splitlines()
            if line.startswith("| `")]
    return {name.strip("` "): owns for name, owns in rows}


def test_package_map_names_every_module_once() -> None:
    """The map of the package in the docs cannot drift from the package: every module and
    subpackage is on it (once), and nothing else is."""
    modules = {info.name for info in pkgutil.iter_modules(postback_middleware.__path__)
               if not info.name.startswith("_")}
    assert set(package_map()) == modules


def test_every_module_says_what_it_owns() -> None:
    """Each module's docstring is its documentation: none is missing."""
    for info in pkgutil.walk_packages(postback_middleware.__path__, "postback_middleware."):
        if info.name.rpartition(".")[2].startswith("_"):
            continue
        module = importlib.import_module(info.name)
        assert module.__doc__ and len(module.__doc__.strip()) > 40, info.name
