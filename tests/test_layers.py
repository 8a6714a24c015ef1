"""The package's shape, as the docs' map draws it (docs/development.md): no import cycle, the
request side never depends on the response side (a request is judged before any page is read),
and the frameworks' rooms (``frameworks.flask``, ``frameworks.django``) are imported only by
name: ``import postback_middleware`` imports no web framework."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "postback_middleware"
REQUEST_SIDE = {"body", "csrf", "fields", "form_tokens", "tokens", "validation"}
RESPONSE_SIDE = {"response", "html_scan", "inject", "partial", "charset"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path) -> set[str]:
    """The package's modules ``path`` imports when it runs (not for type checking only)."""
    name = module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
                # ``from .x import y``: module x (or x.y); ``from . import y``: module y.
                found.update(f"{target}.{alias.name}".strip(".") for alias in node.names)
                if node.module:
                    found.add(target)
            if isinstance(node, ast.If | ast.Try):
                visit(node.body)
                visit(node.orelse)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: {m for m in runtime_imports(path) if m in modules and m != name}
            for name, path in modules.items()}


def test_the_graph_is_read() -> None:
    """(So that the tests below cannot pass on an empty graph.)"""
    graph = import_graph()
    assert {"form_tokens", "tokens", "inject"} <= graph["middleware"]
    assert "html_scan" in graph["inject"]


def test_no_import_cycle() -> None:
    graph = import_graph()
    done: set[str] = set()

    def walk(name: str, path: list[str]) -> None:
        if name in path:
            cycle = [*path[path.index(name):], name]
            # A package importing its own submodules is how a package is made, not a cycle.
            if not all(b.startswith(a + ".") for a, b in itertools.pairwise(cycle)):
                pytest.fail("import cycle: " + " -> ".join(cycle))
            return
        if name in done:
            return
        for dependency in sorted(graph[name]):
            walk(dependency, [*path, name])
        done.add(name)

    for name in sorted(graph):
        walk(name, [])


def test_request_side_never_imports_the_response_side() -> None:
    graph = import_graph()
    for name in REQUEST_SIDE:
        reached = {m.split(".")[0] for m in graph[name]}
        assert not reached & RESPONSE_SIDE, f"{name} imports {reached & RESPONSE_SIDE}"


def test_no_module_outside_the_frameworks_room_imports_it() -> None:
    graph = import_graph()
    assert {"middleware", "registry"} <= graph["frameworks.flask"]  # (the graph sees them)
    for name, imported in graph.items():
        if name.split(".")[0] != "frameworks":
            assert not [m for m in imported if m.split(".")[0] == "frameworks"], name


def test_importing_the_package_imports_no_web_framework() -> None:
    """A fresh interpreter: the package, its frameworks room and its testing helpers leave
    Flask, Werkzeug, Django, Pyramid and Bottle unimported (they are installed here)."""
    script = ("import sys, postback_middleware, postback_middleware.frameworks, "
              "postback_middleware.testing; print(sorted({m.split('.')[0] for m in sys.modules} "
              "& {'flask', 'werkzeug', 'django', 'pyramid', 'bottle'}))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == "[]"
    for framework in ("flask", "django"):  # (and the rooms do import theirs)
        imported = subprocess.run(
            [sys.executable, "-c", f"import sys, postback_middleware.frameworks.{framework}; "
                                   f"print({framework!r} in sys.modules)"],
            capture_output=True, text=True, check=True, timeout=60)
        assert imported.stdout.strip() == "True"
