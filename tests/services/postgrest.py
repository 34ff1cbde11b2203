"""A small PostgREST emulator in front of a real PostgreSQL, for ``httpx.MockTransport``.

Hosted Supabase cannot be reached from the test machines, so the Supabase store is exercised
at its HTTP boundary: ``PostgrestEmulator`` answers the requests supabase-py sends to
``{url}/rest/v1/...`` by running the equivalent SQL on the real test database (sql/ migrations
applied) and answering the way PostgREST does — JSON rows built by PostgreSQL's ``json_agg``
(so timestamps, numerics and jsonb look exactly as PostgREST returns them), ``Content-Range``
headers, the 1,000-row ``max-rows`` cap of Supabase, and error bodies
``{"code", "message", "details", "hint"}`` with PostgREST's status for each SQLSTATE.

Only the subset the store uses is emulated (anything else is a 400/405 error, never a silent
success):

* ``GET``/``HEAD``: ``select`` (plain columns or ``*``); filters ``eq neq gt gte lt lte in is``
  with an optional ``not.`` prefix; ``or=(...)``/``and=(...)`` logic trees with nested
  ``and(...)``/``or(...)`` and double-quoted values; ``order``; ``limit``/``offset`` and the
  ``Range`` header; ``Prefer: count=exact``.
* ``POST``: insert or upsert of an object or array, ``columns``, ``on_conflict``,
  ``Prefer: resolution=merge-duplicates|ignore-duplicates``, ``return=minimal|representation``,
  ``count=exact``.
* ``DELETE`` with filters (an unfiltered DELETE is refused, as Supabase's pg-safeupdate does),
  ``Prefer: return=...``, ``count=exact``.
* ``POST rpc/<function>`` with a JSON object of named arguments: ``SELECT function(name =>
  value, ...)`` in one transaction, answered with the function's result as JSON.

Credentials are checked like Supabase: the ``apikey`` header must be a known key (the API
gateway answers 401 otherwise) and ``Authorization: Bearer <key>`` picks the PostgreSQL role
the request runs as (``SET LOCAL ROLE service_role`` or ``anon``), so the row-level security
and privileges of sql/002_security.sql really apply. Every request is recorded in
``requests``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from psycopg import sql

from lib.store.supabase import SupabaseStore

__all__ = [
    "ANON_KEY",
    "MAX_ROWS",
    "SERVICE_KEY",
    "SUPABASE_URL",
    "PostgrestEmulator",
    "emulated_store",
    "make_supabase_store",
]

SUPABASE_URL = "https://emulated.supabase.co"
SERVICE_KEY = "test-service-role-key"
ANON_KEY = "test-anon-key"
MAX_ROWS = 1000  # Supabase's default db max-rows

_OPERATORS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_IS_VALUES = {"null": "NULL", "true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN"}
_RESERVED_PARAMS = {"select", "order", "limit", "offset", "on_conflict", "columns"}
_LOGIC_PARAMS = {"or", "and", "not.or", "not.and"}


class PostgrestError(Exception):
    """An error answer: HTTP status plus PostgREST's JSON error body."""

    def __init__(
        self, status: int, code: str | None, message: str, details: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "details": details, "hint": hint, "message": message}


@dataclass(frozen=True)
class _Table:
    name: str
    columns: dict[str, str]  # column -> SQL type as format_type() spells it
    primary_key: tuple[str, ...]


@dataclass
class PostgrestEmulator:
    """An httpx.MockTransport handler emulating Supabase's PostgREST over ``dsn``."""

    dsn: str
    keys: dict[str, str] = field(
        default_factory=lambda: {SERVICE_KEY: "service_role", ANON_KEY: "anon"}
    )
    max_rows: int = MAX_ROWS
    requests: list[httpx.Request] = field(default_factory=list)
    _tables: dict[str, _Table] = field(default_factory=dict, repr=False)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        role = "anon"
        try:
            role = self._role(request)
            table_name = self._table_name(request)
            with psycopg.connect(self.dsn) as conn:
                if table_name.startswith("rpc/"):
                    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
                    return self._rpc(conn, request, table_name.removeprefix("rpc/"))
                table = self._table(conn, table_name)
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
                conn.execute("SET LOCAL timezone = 'UTC'")  # as on Supabase
                return self._dispatch(conn, request, table)
        except PostgrestError as exc:
            return _error_response(exc)
        except psycopg.Error as exc:
            return _error_response(_from_database(exc, anonymous=role == "anon"))

    def client(self) -> httpx.Client:
        """An httpx client whose every request this emulator answers."""
        return httpx.Client(transport=httpx.MockTransport(self))

    # -- request routing ----------------------------------------------------------------------

    def _role(self, request: httpx.Request) -> str:
        apikey = request.headers.get("apikey")
        if apikey is None:
            raise PostgrestError(
                401, None, "No API key found in request",
                hint="No `apikey` request header or url param was found.",
            )
        if apikey not in self.keys:
            raise PostgrestError(
                401, None, "Invalid API key",
                hint="Double check your Supabase `anon` or `service_role` API key.",
            )
        authorization = request.headers.get("authorization")
        if authorization is None:
            return "anon"
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or token not in self.keys:
            raise PostgrestError(401, "PGRST301", "JWSError JWSInvalidSignature")
        return self.keys[token]

    def _table_name(self, request: httpx.Request) -> str:
        path = request.url.path
        name = path[len("/rest/v1/"):]
        if not path.startswith("/rest/v1/") or "/" in name.removeprefix("rpc/"):
            raise PostgrestError(404, "PGRST125", f"Invalid path specified in request URL: {path}")
        for header in ("accept-profile", "content-profile"):
            if request.headers.get(header, "public") != "public":
                raise PostgrestError(
                    406, "PGRST106", "The schema must be one of the following: public"
                )
        return path[len("/rest/v1/"):]

    def _table(self, conn: psycopg.Connection[Any], name: str) -> _Table:
        if name not in self._tables:
            columns = conn.execute(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relname = %s AND c.relkind IN ('r', 'v') "
                "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                (name,),
            ).fetchall()
            if not columns:
                raise PostgrestError(
                    404, "PGRST205", f"Could not find the table 'public.{name}' in the schema cache"
                )
            primary = conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = %s::regclass AND i.indisprimary",
                (f"public.{name}",),
            ).fetchall()
            self._tables[name] = _Table(
                name, {c: t for c, t in columns}, tuple(p for (p,) in primary)
            )
        return self._tables[name]

    def _dispatch(
        self, conn: psycopg.Connection[Any], request: httpx.Request, table: _Table
    ) -> httpx.Response:
        params = request.url.params.multi_items()
        prefer = _prefer(request)
        if request.method in ("GET", "HEAD"):
            return self._select(conn, request, table, params, prefer)
        if request.method == "POST":
            return self._insert(conn, request, table, params, prefer)
        if request.method == "DELETE":
            return self._delete(conn, table, params, prefer)
        raise PostgrestError(405, "PGRST117", f"Unsupported HTTP method: {request.method}")

    # -- POST rpc/<function> ---------------------------------------------------------------------

    def _rpc(self, conn: psycopg.Connection[Any], request: httpx.Request, function: str
             ) -> httpx.Response:
        if request.method != "POST":
            raise PostgrestError(405, "PGRST117", f"Unsupported HTTP method: {request.method}")
        arguments = json.loads(request.content or b"{}")
        if not isinstance(arguments, dict):
            raise PostgrestError(400, "PGRST102", "Expected a JSON object of arguments")
        known = conn.execute(
            "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND p.proname = %s", (function,)).fetchone()
        if known is None:
            raise PostgrestError(404, "PGRST202", f"Could not find the function "
                                 f"public.{function} in the schema cache")
        named = sql.SQL(", ").join(
            sql.SQL("{} => %s::jsonb").format(sql.Identifier(name)) for name in arguments)
        query = sql.SQL("SELECT to_json({function}({args}))::text").format(
            function=sql.Identifier(function), args=named)
        values = [json.dumps(value) for value in arguments.values()]
        body = conn.execute(query, values).fetchone()
        text = body[0] if body and body[0] is not None else "null"  # a NULL result
        return _json_response(200, text.encode(), {})

    # -- GET / HEAD -----------------------------------------------------------------------------

    def _select(
        self, conn: psycopg.Connection[Any], request: httpx.Request, table: _Table,
        params: list[tuple[str, str]], prefer: dict[str, str],
    ) -> httpx.Response:
        where, args = _where(table, params)
        offset, limit = _window(request, params)
        limit = self.max_rows if limit is None else min(limit, self.max_rows)
        query = sql.SQL(
            "SELECT coalesce(json_agg(_r), '[]')::text, count(*) FROM "
            "(SELECT {cols} FROM {table} WHERE {where} {order} LIMIT {limit} OFFSET {offset}) _r"
        ).format(
            cols=_select_list(table, params), table=sql.Identifier(table.name), where=where,
            order=_order(table, params), limit=sql.Literal(limit), offset=sql.Literal(offset),
        )
        body, returned = _one(conn, query, args)
        total: int | None = None
        if prefer.get("count") == "exact":
            count = sql.SQL("SELECT '', count(*) FROM {table} WHERE {where}").format(
                table=sql.Identifier(table.name), where=where
            )
            total = _one(conn, count, args)[1]
        partial = total is not None and (offset > 0 or offset + returned < total)
        headers = {"Content-Range": _content_range(offset, returned, total)}
        content = b"" if request.method == "HEAD" else body.encode()
        return _json_response(206 if partial else 200, content, headers)

    # -- POST -----------------------------------------------------------------------------------

    def _insert(
        self, conn: psycopg.Connection[Any], request: httpx.Request, table: _Table,
        params: list[tuple[str, str]], prefer: dict[str, str],
    ) -> httpx.Response:
        rows = _json_rows(request.content)
        columns = _insert_columns(table, params, rows)
        conflict = _conflict_clause(table, params, prefer, columns)
        returning = prefer.get("return", "minimal")
        target = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        insert = sql.SQL(
            "INSERT INTO {table} ({target}) SELECT {target} FROM "
            "json_populate_recordset(NULL::{table}, %s::json) {conflict} RETURNING {cols}"
        ).format(
            table=sql.Identifier(table.name), target=target, conflict=conflict,
            cols=_select_list(table, params),
        )
        query = sql.SQL(
            "WITH _w AS ({insert}) SELECT coalesce(json_agg(_w), '[]')::text, count(*) FROM _w"
        ).format(insert=insert)
        body, written = _one(conn, query, [json.dumps(rows)])
        headers = {
            "Content-Range": f"*/{written}" if prefer.get("count") == "exact" else "*/*"
        }
        if "resolution" in prefer:
            headers["Preference-Applied"] = f"resolution={prefer['resolution']}"
        if returning == "representation":
            return _json_response(201, body.encode(), headers)
        return httpx.Response(201, headers=headers)

    # -- DELETE ---------------------------------------------------------------------------------

    def _delete(
        self, conn: psycopg.Connection[Any], table: _Table, params: list[tuple[str, str]],
        prefer: dict[str, str],
    ) -> httpx.Response:
        if any(key in ("order", "limit", "offset") for key, _ in params):
            raise PostgrestError(400, "PGRST100", "order/limit/offset on DELETE is not emulated")
        if all(key in _RESERVED_PARAMS for key, _ in params):
            # Supabase loads pg-safeupdate for PostgREST requests
            raise PostgrestError(400, "21000", "DELETE requires a WHERE clause")
        where, args = _where(table, params)
        query = sql.SQL(
            "WITH _d AS (DELETE FROM {table} WHERE {where} RETURNING {cols}) "
            "SELECT coalesce(json_agg(_d), '[]')::text, count(*) FROM _d"
        ).format(table=sql.Identifier(table.name), where=where, cols=_select_list(table, params))
        body, deleted = _one(conn, query, args)
        headers = {
            "Content-Range": f"*/{deleted}" if prefer.get("count") == "exact" else "*/*"
        }
        if prefer.get("return") == "representation":
            return _json_response(200, body.encode(), headers)
        return httpx.Response(204, headers=headers)


def make_supabase_store(dsn: str) -> SupabaseStore:
    """A SupabaseStore (service-role key) whose requests the emulator answers from ``dsn``."""
    return emulated_store(dsn)[0]


def emulated_store(
    dsn: str, *, key: str = SERVICE_KEY, **options: Any
) -> tuple[SupabaseStore, PostgrestEmulator]:
    """A store wired to a fresh emulator over ``dsn``, and the emulator (for its requests)."""
    emulator = PostgrestEmulator(dsn)
    return SupabaseStore(SUPABASE_URL, key, http_client=emulator.client(), **options), emulator


# -- query-string parsing -----------------------------------------------------------------------


def _prefer(request: httpx.Request) -> dict[str, str]:
    prefer: dict[str, str] = {}
    for value in request.headers.get_list("prefer", split_commas=True):
        name, _, setting = value.strip().partition("=")
        prefer[name.strip()] = setting.strip()
    return prefer


def _column(table: _Table, name: str) -> str:
    if name not in table.columns:
        raise PostgrestError(
            400, "42703", f"column {table.name}.{name} does not exist"
        )
    return name


def _select_list(table: _Table, params: list[tuple[str, str]]) -> sql.Composable:
    selects = [value for key, value in params if key == "select"]
    if len(selects) > 1:
        raise PostgrestError(400, "PGRST100", "select given more than once")
    names = [c.strip() for c in (selects[0] if selects else "*").split(",")]
    if names == ["*"]:
        return sql.SQL("*")
    return sql.SQL(", ").join(sql.Identifier(_column(table, name)) for name in names)


def _order(table: _Table, params: list[tuple[str, str]]) -> sql.Composable:
    orders = [value for key, value in params if key == "order"]
    if not orders:
        return sql.SQL("")
    terms = []
    for term in orders[-1].split(","):
        name, *modifiers = term.strip().split(".")
        parts: list[sql.Composable] = [sql.Identifier(_column(table, name))]
        for modifier in modifiers:
            keyword = {"asc": "ASC", "desc": "DESC", "nullsfirst": "NULLS FIRST",
                       "nullslast": "NULLS LAST"}.get(modifier)
            if keyword is None:
                raise PostgrestError(400, "PGRST100", f'"failed to parse order ({orders[-1]})"')
            parts.append(sql.SQL(keyword))
        terms.append(sql.SQL(" ").join(parts))
    return sql.SQL("ORDER BY ") + sql.SQL(", ").join(terms)


def _integer(params: list[tuple[str, str]], key: str) -> int | None:
    values = [value for name, value in params if name == key]
    if not values:
        return None
    try:
        number = int(values[-1])
    except ValueError:
        raise PostgrestError(
            400, "PGRST100", f'"failed to parse {key} parameter ({values[-1]})"'
        ) from None
    if number < 0:
        raise PostgrestError(400, "PGRST100", f"{key} must be non-negative")
    return number


def _window(request: httpx.Request, params: list[tuple[str, str]]) -> tuple[int, int | None]:
    """(offset, limit) from limit/offset and the Range header, intersected as PostgREST does."""
    offset = _integer(params, "offset") or 0
    limit = _integer(params, "limit")
    header = request.headers.get("range")
    if header is None:
        return offset, limit
    lower_text, _, upper_text = header.partition("-")
    try:
        lower = int(lower_text)
        upper = int(upper_text) if upper_text else None
    except ValueError:
        raise PostgrestError(
            416, "PGRST103", f"Requested range not satisfiable: {header}"
        ) from None
    start = max(offset, lower)
    ends = [e for e in (
        None if limit is None else offset + limit,
        None if upper is None else upper + 1,
    ) if e is not None]
    return start, (max(0, min(ends) - start) if ends else None)


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses and double quotes."""
    parts: list[str] = []
    depth, quoted, escaped = 0, False, False
    current: list[str] = []
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    if quoted or depth:
        raise PostgrestError(400, "PGRST100", f'"failed to parse logic tree ({text})"')
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        out, escaped = [], False
        for char in value[1:-1]:
            if escaped or char != "\\":
                out.append(char)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    return value


def _where(table: _Table, params: list[tuple[str, str]]) -> tuple[sql.Composable, list[Any]]:
    """The WHERE clause (AND of every filter parameter) and its arguments."""
    conditions: list[sql.Composable] = []
    args: list[Any] = []
    for key, value in params:
        if key in _RESERVED_PARAMS:
            continue
        if key in _LOGIC_PARAMS:
            negate, _, operator = key.rpartition(".")
            if not (value.startswith("(") and value.endswith(")")):
                raise PostgrestError(400, "PGRST100", f'"failed to parse logic tree ({value})"')
            condition = _logic(table, operator, value[1:-1], args)
        else:
            condition = _condition(table, key, value, args, in_tree=False)
            negate = ""
        conditions.append(sql.SQL("NOT ") + condition if negate else condition)
    if not conditions:
        return sql.SQL("TRUE"), args
    return sql.SQL(" AND ").join(conditions), args


def _logic(table: _Table, operator: str, body: str, args: list[Any]) -> sql.Composable:
    terms: list[sql.Composable] = []
    for item in _split_top(body):
        item = item.strip()
        negate = item.startswith("not.")
        inner = item[4:] if negate else item
        for nested in ("and", "or"):
            if inner.startswith(f"{nested}(") and inner.endswith(")"):
                term = _logic(table, nested, inner[len(nested) + 1 : -1], args)
                break
        else:
            column, dot, rest = item.partition(".")
            if not dot:
                raise PostgrestError(400, "PGRST100", f'"failed to parse logic tree ({body})"')
            term = _condition(table, column, rest, args, in_tree=True)
            negate = False  # a "not." before an operator is handled by _condition
        terms.append(sql.SQL("NOT ") + term if negate else term)
    joiner = sql.SQL(" AND ") if operator == "and" else sql.SQL(" OR ")
    return sql.SQL("(") + joiner.join(terms) + sql.SQL(")")


def _condition(
    table: _Table, column: str, expression: str, args: list[Any], *, in_tree: bool
) -> sql.Composable:
    name = sql.Identifier(_column(table, column))
    negate = expression.startswith("not.")
    operator, dot, value = expression[4 if negate else 0 :].partition(".")
    cast = sql.SQL(table.columns[column])
    if not dot:
        raise PostgrestError(400, "PGRST100", f'"failed to parse filter ({expression})"')
    if operator in _OPERATORS:
        args.append(_unquote(value) if in_tree else value)
        condition = sql.SQL("{} {} %s::{}").format(name, sql.SQL(_OPERATORS[operator]), cast)
    elif operator == "in":
        if not (value.startswith("(") and value.endswith(")")):
            raise PostgrestError(400, "PGRST100", f'"failed to parse filter ({expression})"')
        items = [] if value == "()" else [_unquote(v.strip()) for v in _split_top(value[1:-1])]
        args.append(items)
        condition = sql.SQL("{} = ANY(%s::{}[])").format(name, cast)
    elif operator == "is" and value in _IS_VALUES:
        condition = sql.SQL("{} IS {}").format(name, sql.SQL(_IS_VALUES[value]))
    else:
        raise PostgrestError(400, "PGRST100", f'"failed to parse filter ({expression})"')
    return sql.SQL("NOT ") + condition if negate else condition


# -- bodies and answers -------------------------------------------------------------------------


def _json_rows(content: bytes) -> list[dict[str, Any]]:
    try:
        body = json.loads(content)
    except ValueError:
        raise PostgrestError(400, "PGRST102", "Empty or invalid json") from None
    rows = [body] if isinstance(body, dict) else body
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise PostgrestError(400, "PGRST102", "Empty or invalid json")
    return rows


def _insert_columns(
    table: _Table, params: list[tuple[str, str]], rows: list[dict[str, Any]]
) -> list[str]:
    listed = [value for key, value in params if key == "columns"]
    if listed:
        names = [_unquote(c.strip()) for c in _split_top(listed[-1])]
    else:
        # without ?columns= PostgREST requires every object to have the same keys
        names = list(rows[0]) if rows else []
        if any(set(row) != set(names) for row in rows):
            raise PostgrestError(400, "PGRST102", "All object keys must match")
    for name in names:
        if name not in table.columns:
            raise PostgrestError(
                400, "PGRST204",
                f"Could not find the '{name}' column of '{table.name}' in the schema cache",
            )
    return names


def _conflict_clause(
    table: _Table, params: list[tuple[str, str]], prefer: dict[str, str], columns: list[str]
) -> sql.Composable:
    resolution = prefer.get("resolution")
    if resolution is None:
        return sql.SQL("")
    targets = [value for key, value in params if key == "on_conflict"]
    keys = [c.strip() for c in targets[-1].split(",")] if targets else list(table.primary_key)
    target = sql.SQL(", ").join(sql.Identifier(_column(table, k)) for k in keys)
    if resolution == "ignore-duplicates":
        return sql.SQL("ON CONFLICT ({}) DO NOTHING").format(target)
    if resolution != "merge-duplicates":
        raise PostgrestError(400, "PGRST100", f"unknown resolution {resolution!r}")
    updates = sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns
    )
    return sql.SQL("ON CONFLICT ({}) DO UPDATE SET {}").format(target, updates)


def _one(
    conn: psycopg.Connection[Any], query: sql.Composed, args: list[Any]
) -> tuple[str, int]:
    row = conn.execute(query, args).fetchone()
    assert row is not None
    return str(row[0]), int(row[1])


def _content_range(offset: int, returned: int, total: int | None) -> str:
    size = "*" if total is None else str(total)
    if returned == 0:
        return f"*/{size}"
    return f"{offset}-{offset + returned - 1}/{size}"


def _json_response(status: int, content: bytes, headers: dict[str, str]) -> httpx.Response:
    headers = {"Content-Type": "application/json; charset=utf-8", **headers}
    return httpx.Response(status, content=content, headers=headers)


def _error_response(error: PostgrestError) -> httpx.Response:
    return _json_response(error.status, json.dumps(error.body).encode(), {})


def _from_database(exc: psycopg.Error, *, anonymous: bool) -> PostgrestError:
    """A database error as PostgREST reports it (its SQLSTATE → HTTP status table)."""
    code = exc.sqlstate or "XX000"
    diag = exc.diag
    return PostgrestError(
        _status_of(code, anonymous=anonymous), code, diag.message_primary or str(exc),
        diag.message_detail, diag.message_hint,
    )


def _status_of(code: str, *, anonymous: bool) -> int:
    exact = {"23503": 409, "23505": 409, "25006": 405, "42883": 404, "42P01": 404,
             "42P17": 500, "P0001": 400}
    if code == "42501":
        return 401 if anonymous else 403
    if code in exact:
        return exact[code]
    by_class = {"08": 503, "53": 503, "0L": 403, "0P": 403, "28": 403}
    if code[:2] in by_class:
        return by_class[code[:2]]
    if code[:2] in ("09", "25", "2D", "38", "39", "3B", "40", "54", "55", "57", "58", "F0",
                    "HV", "P0", "XX"):
        return 500
    return 400

