"""What a Vercel deployment installs and needs: the builder's manifest choice over the
uploaded file set, the runtime dependencies, and the zone database without the system's."""

from __future__ import annotations

import ast
import fnmatch
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

from lib.web import API_DIR

ROOT = API_DIR.parent

# Vercel's Python builder (vercel/vercel, packages/python-analysis/src/manifest/package.ts):
# from the entrypoint's directory up to the root, the first directory holding one of these
# files gives the manifest, pyproject.toml first.
MANIFESTS = (
    "pyproject.toml", "Pipfile.lock", "Pipfile", "requirements.frozen.txt",
    "requirements-frozen.txt", "requirements.txt", "requirements.in", "requirements/prod.txt",
)
# Imported by lib/ only for local development (python -m lib serve), never by a function.
DEVELOPMENT_ONLY = {"uvicorn"}
# Data rather than code: zoneinfo reads it when the system has no zone database.
DATA_PACKAGES = {"tzdata"}


def tracked_files() -> list[str]:
    """The files of a fresh checkout."""
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines() if line]


def ignore_patterns() -> list[str]:
    lines = (ROOT / ".vercelignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """.vercelignore's (gitignore) rule for the patterns used here: a pattern without a slash
    matches any path component; with a leading slash, the path from the root."""
    parts = path.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if pattern.startswith("/"):
            if fnmatch.fnmatch(path, pattern[1:]) or path.startswith(pattern[1:] + "/"):
                return True
        elif any(fnmatch.fnmatch(part, pattern) for part in parts):
            return True
    return False


@cache
def uploaded() -> frozenset[str]:
    patterns = ignore_patterns()
    return frozenset(p for p in tracked_files() if not ignored(p, patterns))


def builder_manifest(entrypoint: str, files: frozenset[str]) -> str | None:
    """The manifest the builder picks for ``entrypoint`` among ``files``."""
    directory = os.path.dirname(entrypoint)
    while True:
        for name in MANIFESTS:
            candidate = os.path.join(directory, name) if directory else name
            if candidate in files:
                return candidate
        if not directory:
            return None
        directory = os.path.dirname(directory)


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert not line.startswith("-"), f"{path.name}: options are not followed: {line}"
            names.add(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def imported_modules(folder: Path) -> set[str]:
    """Top-level modules imported anywhere under ``folder`` (lazy imports included)."""
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def distribution_closure(names: set[str]) -> set[str]:
    """``names`` and everything they depend on (installed metadata, extras ignored)."""
    seen: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue  # an environment marker kept it out of this interpreter
        for requirement in requires:
            if "extra ==" not in requirement:
                pending.append(re.split(r"[\[<>=!~; (]", requirement, maxsplit=1)[0].lower()
                               .replace("_", "-"))
    return seen


# --- the builder's choice ----------------------------------------------------------------------


def test_ignore_rule_matches_the_patterns_used() -> None:
    assert ignored("tests/api/test_deploy.py", ["tests"])
    assert ignored("pyproject.toml", ["pyproject.toml"])
    assert ignored("data/x.sqlite3", ["*.sqlite3"])
    assert not ignored("api/metrics.py", ["tests", "pyproject.toml"])
    assert ignored("docs/a.md", ["/docs"]) and not ignored("lib/docs.py", ["/docs"])


def test_builder_selection_rule_prefers_pyproject() -> None:
    files = frozenset({"pyproject.toml", "requirements.txt", "api/x.py"})
    assert builder_manifest("api/x.py", files) == "pyproject.toml"
    assert builder_manifest("api/x.py", files - {"pyproject.toml"}) == "requirements.txt"
    assert builder_manifest("api/x.py", files | {"api/Pipfile"}) == "api/Pipfile"
    assert builder_manifest("api/x.py", frozenset({"api/x.py"})) is None


@pytest.mark.parametrize("entrypoint", sorted(p for p in tracked_files()
                                              if p.startswith("api/") and p.endswith(".py")))
def test_every_function_installs_from_requirements_txt(entrypoint: str) -> None:
    files = uploaded()
    assert entrypoint in files and "lib/sim/generator.py" in files
    assert builder_manifest(entrypoint, files) == "requirements.txt"


def test_the_uploaded_pyproject_would_install_nothing_so_it_stays_out() -> None:
    # The failure this guards against: pyproject.toml chosen, with no dependencies in it.
    assert "pyproject.toml" not in uploaded()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not project.get("dependencies")


# --- exactly the runtime dependencies ----------------------------------------------------------


def test_requirements_are_exactly_what_lib_and_api_import() -> None:
    required = requirement_names(ROOT / "requirements.txt")
    modules = (imported_modules(ROOT / "lib") | imported_modules(API_DIR)) - {"lib"}
    third_party = {m for m in modules if m not in sys.stdlib_module_names}
    distributions = importlib.metadata.packages_distributions()
    needed = {distributions[m][0].lower().replace("_", "-")
              for m in third_party - DEVELOPMENT_ONLY}
    closure = distribution_closure(required)
    assert needed <= closure, f"imported but not installed: {sorted(needed - closure)}"
    assert required - DATA_PACKAGES <= needed, f"installed, never imported: " \
        f"{sorted(required - DATA_PACKAGES - needed)}"
    assert required.isdisjoint({"pytest", "ruff", "mypy", "uvicorn", "schemathesis",
                                "hypothesis", "import-linter"})
    assert required >= DATA_PACKAGES


# --- no system zone database ------------------------------------------------------------------

CHILD = r"""
import importlib.util, json, sys, zoneinfo
block_tzdata = sys.argv[2] == "block"
if block_tzdata:
    sys.modules["tzdata"] = None  # as if the package were not installed
sys.path.insert(0, sys.argv[1])
report = {"tzpath": list(zoneinfo.TZPATH)}
try:
    zoneinfo.ZoneInfo("Asia/Seoul")
    report["zone"] = "found"
except zoneinfo.ZoneInfoNotFoundError:
    report["zone"] = "missing"
if not block_tzdata:
    from fastapi.testclient import TestClient
    from lib.web.local import combined_app
    client = TestClient(combined_app())
    report["status"] = {url: client.get(url).status_code for url in (
        "/api/monitoring/servers", "/api/monitoring/performance?serverId=web-01",
        "/api/metrics/daily?limit=1", "/api/prometheus", "/api/status")}
print(json.dumps(report))
"""


def run_without_system_zones(tmp_path: Path, mode: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEET_", "METRICS_"))}
    env.update(PYTHONTZPATH="/nonexistent", SQLITE_PATH=str(tmp_path / "m.sqlite3"))
    result = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), mode], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert isinstance(report, dict)
    return report


def test_functions_answer_with_the_system_zone_database_hidden(tmp_path: Path) -> None:
    report = run_without_system_zones(tmp_path, "tzdata")
    assert report["tzpath"] == ["/nonexistent"] and report["zone"] == "found"
    assert report["status"] == {
        "/api/monitoring/servers": 200, "/api/monitoring/performance?serverId=web-01": 200,
        "/api/metrics/daily?limit=1": 200, "/api/prometheus": 200, "/api/status": 200}


def test_without_the_tzdata_package_the_zone_is_missing(tmp_path: Path) -> None:
    # What the test above would meet on a serverless image without the tzdata dependency.
    assert run_without_system_zones(tmp_path, "block")["zone"] == "missing"


def test_vercel_json_is_valid_json_with_rewrites_for_every_family() -> None:
    config = json.loads((ROOT / "vercel.json").read_text())
    destinations = {r["destination"].split("?", 1)[0] for r in config["rewrites"]}
    families = {"/api/" + p.removesuffix(".py") for p in ("metrics.py", "monitoring.py")}
    assert families <= destinations
