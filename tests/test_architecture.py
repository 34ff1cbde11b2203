"""The house plan (docs/architecture.md), beyond what import-linter checks: one place reads
the environment, no caller branches on a backend's name, packages say what they export."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib"
PACKAGES = sorted(p.parent.name for p in LIB.glob("*/__init__.py"))
BACKEND_VARIABLES = {"collector", "store", "cache"}
BACKEND_SETTINGS = {"collector_mode", "metrics_store", "cache_backend"}


def sources(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def test_only_the_kernel_reads_the_environment() -> None:
    readers = []
    for path in [*sources(LIB), *sources(ROOT / "api")]:
        if path.is_relative_to(LIB / "core"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and \
                    isinstance(node.value, ast.Name) and node.value.id == "os":
                readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers == []


def _backend_names(node: ast.Compare) -> list[str]:
    found = []
    for side in (node.left, *node.comparators):
        if isinstance(side, ast.Attribute):
            owner = side.value
            if side.attr in ("mode", "name") and isinstance(owner, ast.Name) and \
                    owner.id in BACKEND_VARIABLES:
                found.append(f"{owner.id}.{side.attr}")
            if side.attr in BACKEND_SETTINGS:
                found.append(side.attr)
    return found


def test_no_caller_compares_a_backends_name() -> None:
    # The factories choose a backend from the settings; everyone else asks the protocol
    # (Collector.source, Collector.seed, MetricStore.embedded...).
    branches = []
    for path in sources(LIB):
        if path.name == "factory.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                branches += [f"{path.relative_to(ROOT)}:{node.lineno} {name}"
                             for name in _backend_names(node)]
    assert branches == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_exports_its_public_names(package: str) -> None:
    module = importlib.import_module(f"lib.{package}")
    exported = getattr(module, "__all__", None)
    assert exported, f"lib/{package}/__init__.py has no __all__"
    for name in exported:
        assert hasattr(module, name), f"lib.{package}.__all__ names {name}, which is missing"
    assert (module.__doc__ or "").strip(), f"lib/{package} says nothing of what it is for"


def test_every_module_says_what_it_is_for() -> None:
    silent = [str(p.relative_to(ROOT)) for p in sources(LIB)
              if p.read_text().strip() and ast.get_docstring(ast.parse(p.read_text())) is None]
    assert silent == []


def _names(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.keyword) and node.arg:
            found.add(node.arg)
    return found


def test_server_id_is_the_only_name_for_a_server_id_in_the_code() -> None:
    # The seeds' API calls the query parameter serverId (and its JSON field): that spelling
    # lives only in the strings of the HTTP boundary; every identifier says server_id.
    spelled = [str(p.relative_to(ROOT)) for p in [*sources(LIB), *sources(ROOT / "api")]
               if {"serverId", "serverid"} & _names(ast.parse(p.read_text()))]
    assert spelled == []
