"""The Vercel functions as deployed: each api/ file on its own, vercel.json, exact paths."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Route

from lib.core import Settings
from lib.web import API_DIR, combined_app, function_modules

ROOT = API_DIR.parent
VERCEL_JSON = ROOT / "vercel.json"
HOBBY_MAX_DURATION = 60
# Functions that only read: they must stay off the heavy backends' import path (cold starts).
READ_FUNCTIONS = {
    "metrics.py": "/api/metrics/daily",
    "monitoring.py": "/api/monitoring/performance?serverId=web-01",
    "status.py": "/api/status",
    "prometheus.py": "/api/prometheus",
}
# Vercel Hobby: at most 12 functions per deployment without a framework.
HOBBY_MAX_FUNCTIONS = 12
HEAVY_MODULES = ("supabase", "postgrest", "psycopg", "psycopg_pool", "botocore", "mcp")

# Runs in a fresh interpreter: load the file by path as Vercel's Python runtime does, report
# what it exposes and which heavy modules got imported, then serve one request.
CHILD = r"""
import importlib.util, json, sys
path, root, request, heavy = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
sys.path.insert(0, root)
spec = importlib.util.spec_from_file_location("vercel_function", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
app = getattr(module, "app", None)
report = {
    "app": type(app).__module__ + "." + type(app).__name__,
    "lambda_handler": type(getattr(module, "lambda_handler", None)).__name__,
    "lambda_app_is_app": getattr(getattr(module, "lambda_handler", None), "app", None) is app,
    "has_handler": hasattr(module, "handler"),
    "heavy_after_import": sorted(m for m in heavy if m in sys.modules),
}
if request:
    from fastapi.testclient import TestClient
    response = TestClient(app).get(request)
    report["status"] = response.status_code
    report["heavy_after_request"] = sorted(m for m in heavy if m in sys.modules)
print(json.dumps(report))
"""


def api_files() -> list[str]:
    return sorted(str(p.relative_to(API_DIR)) for p in API_DIR.rglob("*.py"))


def vercel_path(relative: str) -> str:
    """The URL path Vercel gives the function in api/<relative>."""
    return "/api/" + relative.removesuffix(".py")


def default_env(tmp: Path) -> dict[str, str]:
    """The process environment without any of the project's settings (their defaults apply),
    the embedded store pointed at a scratch file."""
    names = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    env["SQLITE_PATH"] = str(tmp / "fleet-metrics.sqlite3")
    return env


@pytest.fixture(scope="module")
def fresh_imports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each api/ file imported alone in its own interpreter (all started at once)."""
    tmp = tmp_path_factory.mktemp("functions")
    children = {
        name: subprocess.Popen(
            [sys.executable, "-c", CHILD, str(API_DIR / name), str(ROOT),
             READ_FUNCTIONS.get(name, ""), ",".join(HEAVY_MODULES)],
            cwd=tmp, env=default_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        for name in api_files()
    }
    reports = {}
    for name, child in children.items():
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, f"api/{name} failed in a fresh interpreter:\n{err}"
        reports[name] = json.loads(out.strip().splitlines()[-1])
    return reports


def vercel_config() -> dict[str, Any]:
    config = json.loads(VERCEL_JSON.read_text())
    assert isinstance(config, dict)
    return config


def glob_matches(pattern: str, path: str) -> bool:
    """Vercel's function globs: ``**/`` spans any number of directories, ``*`` stays in one."""
    regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*")
    return re.fullmatch(regex.replace(r"\*", "[^/]*"), path) is not None


def get_paths(app: FastAPI) -> dict[str, set[str]]:
    """Every route path of ``app`` with its methods: the operations of its OpenAPI (included
    routers are nested, so their routes are not in ``app.routes``) and its plain routes."""
    paths: dict[str, set[str]] = {}
    for path, operations in app.openapi()["paths"].items():
        paths.setdefault(path, set()).update(m.upper() for m in operations)
    pending = list(app.routes)
    while pending:
        route = pending.pop()
        if isinstance(route, Route):
            paths.setdefault(route.path, set()).update(route.methods or ())
        router = getattr(route, "original_router", None)  # an included router
        if router is not None:
            pending.extend(router.routes)
    return paths


@cache
def load_function(name: str) -> ModuleType:
    """The module in api/<name>, loaded by path (``generate-batch.py`` is no identifier)."""
    module_name = "vercel_" + re.sub(r"\W", "_", name.removesuffix(".py"))
    spec = importlib.util.spec_from_file_location(module_name, API_DIR / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- each function on its own -------------------------------------------------------------


def test_every_api_file_contributes_a_router_to_the_combined_app() -> None:
    assert sorted(function_modules()) == api_files()
    assert "generate-batch.py" in api_files()  # a file name that is no identifier


@pytest.mark.parametrize("name", api_files())
def test_function_imports_alone_and_exposes_app_and_lambda_handler(
    fresh_imports: dict[str, dict[str, Any]], name: str
) -> None:
    report = fresh_imports[name]
    assert report["app"] == "fastapi.applications.FastAPI"
    assert report["lambda_handler"] == "Mangum" and report["lambda_app_is_app"]
    # Vercel's runtime takes a module-level `handler` for an HTTP handler class.
    assert report["has_handler"] is False


@pytest.mark.parametrize("name", sorted(READ_FUNCTIONS))
def test_read_function_stays_off_supabase_and_psycopg(
    fresh_imports: dict[str, dict[str, Any]], name: str
) -> None:
    report = fresh_imports[name]
    assert report["heavy_after_import"] == []
    assert report["status"] == 200
    assert report["heavy_after_request"] == []


def test_the_mcp_function_loads_the_sdk_only_when_asked(
    fresh_imports: dict[str, dict[str, Any]]
) -> None:
    # the local server and the docs function load every function module
    assert "mcp" not in fresh_imports["mcp.py"]["heavy_after_import"]


def test_deployment_stays_within_hobbys_function_limit() -> None:
    # Every .py file under api/ with a module-level ``app`` is one function on Vercel.
    functions = [name for name in api_files() if hasattr(load_function(name), "app")]
    assert functions == api_files()
    assert len(functions) <= HOBBY_MAX_FUNCTIONS


@pytest.mark.parametrize("name", api_files())
def test_function_serves_its_own_vercel_path_or_its_familys(name: str) -> None:
    module = load_function(name)
    paths = get_paths(module.app)
    family = getattr(module, "FAMILY", None)
    if family is None:
        assert "GET" in paths[vercel_path(name)]
    else:  # a family function serves paths below its own, through a rewrite
        assert family == vercel_path(name)
        assert [p for p in paths if p.startswith(family + "/")]


# --- vercel.json ----------------------------------------------------------------------------


def test_vercel_json_leaves_the_framework_unset() -> None:
    assert "framework" in vercel_config() and vercel_config()["framework"] is None


def test_vercel_json_functions_cover_every_api_file_within_hobby_limits() -> None:
    functions = vercel_config()["functions"]
    assert "api/**/*.py" in functions
    for name in api_files():
        matching = [glob for glob in functions if glob_matches(glob, f"api/{name}")]
        assert matching, f"api/{name} has no functions entry"
        for glob in matching:
            duration = functions[glob]["maxDuration"]
            assert isinstance(duration, int) and 1 <= duration <= HOBBY_MAX_DURATION


def test_glob_matching_follows_vercel_rules() -> None:
    assert glob_matches("api/**/*.py", "api/status.py")
    assert glob_matches("api/**/*.py", "api/monitoring/servers.py")
    assert not glob_matches("api/*.py", "api/monitoring/servers.py")
    assert not glob_matches("api/**/*.py", "lib/http.py")


def test_cron_calls_a_served_get_route_once_a_day() -> None:
    crons = vercel_config()["crons"]
    assert crons
    served = get_paths(combined_app())
    for cron in crons:
        path = cron["path"].split("?", 1)[0]
        assert "GET" in served[path]  # Vercel's cron sends GET
        assert (API_DIR / (path.removeprefix("/api/") + ".py")).is_file()
        minute, hour, *rest = cron["schedule"].split()
        # Hobby runs crons at most once a day: a fixed minute and hour.
        assert minute.isdigit() and hour.isdigit() and rest == ["*", "*", "*"]


def vercel_route(path: str) -> tuple[str, str] | None:
    """Where Vercel sends a request for ``path``: (function file, the path and query the
    function sees), following a file of that name first, then vercel.json's rewrites (whose
    destination is what the function is handed)."""
    for name in api_files():
        if vercel_path(name) == path:
            return name, path
    for rewrite in vercel_config().get("rewrites", []):
        source = "^" + re.sub(r":(\w+)", r"(?P<\1>[^/]+)", rewrite["source"]) + "$"
        match = re.match(source, path)
        if match:
            destination = rewrite["destination"]
            for key, value in match.groupdict().items():
                destination = destination.replace(f":{key}", value)
            target = destination.split("?", 1)[0]
            for name in api_files():
                if vercel_path(name) == target:
                    return name, destination
    return None


def test_every_function_route_is_reachable_on_vercel() -> None:
    unreachable = sorted(
        f"{path} (api/{name})"
        for name in api_files()
        for path in get_paths(load_function(name).app)
        if not path.endswith("openapi.json")
        and (vercel_route(path) is None or vercel_route(path)[0] != name)  # type: ignore[index]
    )
    assert unreachable == []


@pytest.mark.parametrize("path", [
    "/api/metrics/daily?limit=3&server_id=web-02",
    "/api/monitoring/servers?serverId=db-01&at=2024-01-01T13:40:00Z",
    "/api/monitoring/performance?serverId=api-03&from=2024-01-01T00:00:00Z"
    "&to=2024-01-01T01:00:00Z&metric=cpu",
])
def test_a_rewritten_request_answers_as_the_direct_one(path: str) -> None:
    # Vercel hands a rewritten request to the function with the destination's path.
    route, query = path.split("?", 1)
    found = vercel_route(route)
    assert found is not None
    name, destination = found
    assert destination != route  # through a rewrite
    client = TestClient(load_function(name).app)
    direct = client.get(path)
    rewritten = client.get(f"{destination}&{query}")
    assert direct.status_code == 200, direct.text
    assert rewritten.status_code == 200 and rewritten.content == direct.content


def test_unknown_family_routes_are_404_through_the_rewrite() -> None:
    name, destination = vercel_route("/api/metrics/nothing") or ("", "")
    assert name == "metrics.py"
    response = TestClient(load_function(name).app).get(destination)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


# --- exact paths ------------------------------------------------------------------------------


def test_docs_page_loads_its_schema_from_its_own_path() -> None:
    client = TestClient(load_function("docs.py").app)
    page = client.get("/api/docs")
    assert page.status_code == 200 and "/api/docs?format=openapi" in page.text
    schema = client.get("/api/docs?format=openapi").json()
    assert {"/api/metrics/daily", "/api/monitoring/servers", "/api/monitoring/performance",
            "/api/generate-batch", "/api/status"} <= set(schema["paths"])


def test_no_route_path_ends_with_a_slash() -> None:
    paths = get_paths(combined_app())
    assert {"/api/metrics/daily", "/api/monitoring/servers", "/api/monitoring/performance",
            "/api/generate-batch", "/api/status", "/api/openapi.json"} <= set(paths)
    assert [p for p in paths if p.endswith("/")] == []


@pytest.mark.parametrize("name", [*api_files(), "combined"])
def test_trailing_slash_is_not_redirected(name: str) -> None:
    app = combined_app() if name == "combined" else load_function(name).app
    client = TestClient(app, follow_redirects=False)
    for path, methods in get_paths(app).items():
        for method in methods & {"GET", "POST"}:
            response = client.request(method, path + "/")
            assert response.status_code == 404, (method, path)
            assert "location" not in response.headers
            assert response.json()["error"]["code"] == "not_found"
