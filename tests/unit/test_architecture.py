"""The arrows of the architecture (docs: architecture.md), read from the source: every import
statement of the product's packages, at module level, inside functions or under TYPE_CHECKING.

- no import circles between modules;
- python-telegram-bot (``telegram``) only in the adapter, bot/telegram/;
- conversations/ imports neither bot, storage nor telegram; storage/ imports no bot;
- the emulator (sandbox/emulator/) imports nothing of the product;
- use cases (bot/services/) and delivery (bot/delivery/) never import the adapter.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "conversations", "storage", "sandbox")
PRODUCT = ("bot", "conversations", "storage")


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a product module, or the external name as written)
    line: int


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            found[module_name(root, path)] = path
    return found


def imports(root: Path, packages: Iterable[str]) -> list[Import]:
    """Every import statement of every module (ast.walk: nested in functions, classes, ifs)."""
    known = modules(root, packages)
    edges: list[Import] = []
    for name, path in known.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                edges += [Import(name, alias.name, node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(name, is_package, node.module, node.level)
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    target = submodule if submodule in known else base
                    edges.append(Import(name, target, node.lineno))
    return edges


def _absolute(module: str, is_package: bool, written: str | None, level: int) -> str:
    if level == 0:
        assert written is not None
        return written
    parts = module.split(".")
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - (level - 1)]
    return ".".join([*anchor, *([written] if written else [])])


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def cycles(edges: Iterable[Import]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        if edge.source != edge.target:
            graph.setdefault(edge.source, set()).add(edge.target)
            graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def violations(
    edges: Iterable[Import], source: str, forbidden: Iterable[str]
) -> list[tuple[str, str]]:
    """(importing module, imported module) for imports from ``source`` into ``forbidden``."""
    bad = tuple(forbidden)
    return sorted(
        {
            (e.source, e.target)
            for e in edges
            if within(e.source, source) and any(within(e.target, f) for f in bad)
        }
    )


@pytest.fixture(scope="module")
def product() -> list[Import]:
    return imports(ROOT, PACKAGES)


# -- the checker itself ------------------------------------------------------------------------


def test_the_checker_sees_every_kind_of_import_and_finds_circles(tmp_path: Path) -> None:
    """A made-up package: a circle closed only by a TYPE_CHECKING import, another only by an
    import inside a function, relative imports, and a module that is fine."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from pkg import b\n",
        "b.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import thing\n"
        ),
        "c.py": "import telegram.ext\n\ndef later():\n    from .sub import d\n",
        "sub/__init__.py": "",
        "sub/d.py": "from .. import c\nfrom . import e\n",
        "sub/e.py": "import os\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    edges = imports(tmp_path, ["pkg"])
    assert cycles(edges) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.sub.d"]]
    assert Import("pkg.c", "telegram.ext", 1) in edges
    assert Import("pkg.sub.d", "pkg.sub.e", 2) in edges
    assert violations(edges, "pkg.c", ["telegram"]) == [("pkg.c", "telegram.ext")]
    assert violations(edges, "pkg.sub", ["telegram"]) == []


def test_the_product_graph_is_read(product: list[Import]) -> None:
    """The checks below look at real edges: a few that must be there."""
    pairs = {(e.source, e.target) for e in product}
    assert ("bot.delivery.dispatch", "bot.delivery.renderers") in pairs
    assert ("bot.telegram.messenger", "telegram.error") in pairs
    assert ("bot.telegram.app", "bot.delivery.dispatch") in pairs
    assert len({e.source for e in product}) > 100


# -- the arrows --------------------------------------------------------------------------------


def test_no_import_circles(product: list[Import]) -> None:
    assert cycles(product) == []


def test_telegram_only_in_the_adapter(product: list[Import]) -> None:
    outside = {
        (e.source, e.target)
        for e in product
        if within(e.target, "telegram") and not within(e.source, "bot.telegram")
    }
    assert sorted(outside) == []


def test_conversations_import_no_bot_storage_or_telegram(product: list[Import]) -> None:
    assert violations(product, "conversations", ["bot", "storage", "telegram"]) == []


def test_storage_imports_no_bot(product: list[Import]) -> None:
    assert violations(product, "storage", ["bot", "telegram"]) == []


def test_the_emulator_imports_nothing_of_the_product(product: list[Import]) -> None:
    assert violations(product, "sandbox.emulator", PRODUCT) == []


def test_use_cases_and_delivery_never_import_the_adapter(product: list[Import]) -> None:
    for package in ("bot.services", "bot.delivery"):
        assert violations(product, package, ["bot.telegram"]) == [], package
