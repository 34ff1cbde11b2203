"""Command line: ``python -m lib <command> --help``.

Every bad argument ends the program with exit status 2 and one line on stderr that
names the argument; no traceback.
"""

from __future__ import annotations

import argparse
import csv
import json
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from lib.collectors import simulator_from
from lib.core import (
    DEFAULT_SEED,
    METRIC_COLUMNS,
    ConfigError,
    FleetError,
    InvalidParameter,
    Settings,
    UnknownServer,
    dsn_passwords,
    format_iso,
    get_settings,
    is_time_zone,
    parse_date,
    parse_instant,
    pick_servers,
    redact,
)
from lib.sim import DEFAULT_STEP, FLEET_PROFILES, MIN_STEP, Fleet, MetricFrame

from .progress import Progress

if TYPE_CHECKING:
    from lib.alerts.rules import RuleSet

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed",
        help="integer seed, or 'random' (printed to stderr); default: $METRICS_SEED or "
        f"{DEFAULT_SEED}",
    )
    parser.add_argument("--fleet", default=None, choices=FLEET_PROFILES,
                        help="fleet profile (default: $FLEET_PROFILE or default)")
    parser.add_argument("--timezone", default=None,
                        help="fleet time zone for business hours (default: $FLEET_TIMEZONE)")


def _add_window_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", required=True, help="window start, ISO 8601 (UTC if no offset)")
    parser.add_argument("--end", required=True, help="window end (exclusive), ISO 8601")


def parse_seed(value: str, stderr: TextIO) -> int:
    """``--seed``: an integer, or ``random`` (announced on stderr so the run can be repeated)."""
    if value == "random":
        seed = secrets.randbelow(2**31)
        stderr.write(f"seed: {seed}\n")
        return seed
    if not value.strip().isdigit() or int(value) >= 2**63:
        raise InvalidParameter(
            "--seed", f"expected a non-negative integer or 'random', got {value!r}"
        )
    return int(value)


def command_settings(args: argparse.Namespace, stderr: TextIO) -> Settings:
    """The process's Settings with this command's --seed, --fleet and --timezone applied."""
    update: dict[str, object] = {}
    if getattr(args, "seed", None) is not None:
        update["metrics_seed"] = parse_seed(args.seed, stderr)
    if getattr(args, "fleet", None):
        update["fleet_profile"] = args.fleet
    if getattr(args, "timezone", None):
        if not is_time_zone(args.timezone):
            raise InvalidParameter("--timezone", f"unknown IANA time zone {args.timezone!r}")
        update["fleet_timezone"] = args.timezone
    return get_settings().model_copy(update=update)


def resolve_window(args: argparse.Namespace) -> tuple[int, int]:
    start = parse_instant(args.start, "--start")
    end = parse_instant(args.end, "--end")
    if end <= start:
        raise InvalidParameter("--end", f"must be after --start ({args.end} <= {args.start})")
    return start, end


def _parse_step(text: str) -> int:
    if not text.isdigit() or int(text) < MIN_STEP:
        raise InvalidParameter(
            "--step", f"must be a whole number of seconds >= {MIN_STEP}, got {text!r}"
        )
    return int(text)


def _check_servers(fleet: Fleet, servers: Sequence[str] | None) -> list[str] | None:
    if not servers:
        return None
    try:
        pick_servers(servers, fleet.by_id)
    except UnknownServer as exc:
        raise InvalidParameter("--server", exc.detail) from None
    return list(servers)


# --- export ----------------------------------------------------------------------------


def _write_jsonl(frame: MetricFrame, out: TextIO) -> None:
    out.writelines(json.dumps(row.as_dict(), separators=(",", ":")) + "\n" for row in frame.rows())


def _write_csv(frame: MetricFrame, out: TextIO, header: bool) -> None:
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(METRIC_COLUMNS)
    writer.writerows(
        (format_iso(r.timestamp), r.server_id, r.cpu, r.memory, r.disk, r.response_time,
         r.network_rx, r.network_tx, r.connections, r.status)
        for r in frame.rows()
    )


def cmd_export(args: argparse.Namespace) -> int:
    """Write metric rows of a window, ordered by timestamp then server id."""
    step = _parse_step(args.step)
    start, end = resolve_window(args)
    sim = simulator_from(command_settings(args, sys.stderr))
    servers = _check_servers(sim.fleet, args.server)
    out: TextIO = open(args.out, "w", newline="") if args.out else sys.stdout  # noqa: SIM115
    chunk = max(step, (86_400 // step) * step)
    progress = Progress(-(-(end - start) // chunk), "export")
    try:
        for n, frame in enumerate(sim.frames(start, end, step, servers, chunk=chunk)):
            if args.format == "csv":
                _write_csv(frame, out, header=n == 0)
            else:
                _write_jsonl(frame, out)
            progress.advance()
    finally:
        progress.close()
        if out is not sys.stdout:
            out.close()
    return 0


def cmd_incidents(args: argparse.Namespace) -> int:
    """Print the ground truth of incidents overlapping a window as a JSON array."""
    start, end = resolve_window(args)
    sim = simulator_from(command_settings(args, sys.stderr))
    json.dump([i.as_dict() for i in sim.incidents(start, end)], sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Generate a window and write rows, ground truth and templates to the configured store.

    Running it twice changes nothing; --clear empties the window first.
    """
    from lib.app import store_window
    from lib.collectors import get_collector
    from lib.store import get_store

    start, end = _generate_window(args)
    settings = command_settings(args, sys.stderr)
    collector = get_collector(settings)
    seed_note = (f"seed {collector.seed}, fleet {settings.fleet_profile}"
                 if collector.seed is not None else f"collector {collector.mode}")
    store = get_store(settings)
    progress = Progress(-(-(end - start) // 86_400), "generate")
    try:
        result = store_window(collector, store, start, end, clear=args.clear,
                              on_chunk=lambda _: progress.advance())
    finally:
        progress.close()
        store.close()
    cleared = f", cleared {result.cleared:,} old rows" if args.clear else ""
    sys.stdout.write(
        f"stored {result.rows:,} rows and {result.incidents} incidents for "
        f"{format_iso(start)} .. {format_iso(end)} in {store.name} ({seed_note}{cleared}) "
        f"in {result.duration_ms / 1000:.2f} s\n"
    )
    return 0


def _generate_window(args: argparse.Namespace) -> tuple[int, int]:
    if args.days is not None and args.days < 1:
        raise InvalidParameter("--days", f"must be at least 1, got {args.days}")
    if args.date is not None:
        if args.start or args.end:
            raise InvalidParameter("--date", "use either --date or --start/--end, not both")
        start = parse_date(args.date, "--date")
        return start, start + 86_400 * (args.days or 1)
    if args.start is None:
        if args.end is not None:
            raise InvalidParameter("--start", "required with --end")
        from lib.app import default_window

        now = int(time.time())
        if args.days is None:
            return default_window(now)
        today = now - now % 86_400
        return today - 86_400 * (args.days - 1), today + 86_400
    start = parse_instant(args.start, "--start")
    if args.end is not None:
        if args.days is not None:
            raise InvalidParameter("--days", "use either --end or --days, not both")
        return resolve_window(args)
    return start, start + 86_400 * (args.days or 1)


def _generate_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("generate", help="write a window to the configured store",
                       description=cmd_generate.__doc__)
    p.add_argument("--date", help="a UTC day, YYYY-MM-DD (with --days: that many days from it)")
    p.add_argument("--start", help="window start, ISO 8601")
    p.add_argument("--end", help="window end (exclusive), ISO 8601")
    p.add_argument("--days", type=int, help="number of days (default 1; without --date or "
                   "--start: the last N days up to the end of today)")
    _add_source_options(p)
    p.add_argument("--clear", action="store_true", help="delete the window's rows first")
    p.set_defaults(handler=cmd_generate)
    p.epilog = ("Without --date or --start: the last complete UTC day and today up to the "
                "current tick. Store from $METRICS_STORE (default: SQLite at ./data/).")


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve every function on one port under the same paths, with docs at /api/docs.

    First makes sure yesterday and today so far are in the embedded (SQLite) store.
    """
    import uvicorn

    from lib.app import default_window, store_window
    from lib.web import combined_app, provide_collector, provide_store

    if not 0 < args.port < 65_536:
        raise InvalidParameter("--port", f"must be 1-65535, got {args.port}")
    settings = get_settings()
    store = provide_store()
    now = int(time.time())
    start, end = default_window(now)
    last = store.last_tick()
    if store.embedded and (last is None or last < end - DEFAULT_STEP):
        result = store_window(provide_collector(), store, start, end)
        sys.stderr.write(f"stored {result.rows:,} rows for {format_iso(start)} .. "
                         f"{format_iso(end)} in {settings.resolved_sqlite_path()}\n")
    if not settings.cron_secret:
        sys.stderr.write("no CRON_SECRET: /api/generate-batch is open on this local server "
                         "(deployed functions refuse to run the batch without one)\n")
    sys.stderr.write(f"serving on http://{args.host}:{args.port}/api/docs\n")
    uvicorn.run(combined_app(local=True), host=args.host, port=args.port, log_level="warning")
    return 0


def _serve_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("serve", help="serve the API locally", description=cmd_serve.__doc__)
    p.add_argument("--port", type=int, default=3000, help="port (default 3000)")
    p.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    p.set_defaults(handler=cmd_serve)


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply sql/ migrations (safe to repeat) to POSTGRES_URL, DATABASE_URL or --dsn."""
    from lib.store import apply_migrations

    dsn = args.dsn or get_settings().postgres_dsn
    if not dsn:
        raise InvalidParameter("--dsn", "give --dsn or set POSTGRES_URL / DATABASE_URL")
    if not dsn.startswith(("postgres://", "postgresql://")):
        raise InvalidParameter("--dsn", "expected a postgres:// or postgresql:// URL")
    try:
        applied = apply_migrations(dsn)
    except Exception as exc:  # psycopg's errors: report one line, not a traceback
        message = redact(str(exc), dsn_passwords(dsn))
        sys.stderr.write(f"error: migration failed: {type(exc).__name__}: {message}\n")
        return 1
    sys.stdout.write("applied " + ", ".join(p.name for p in applied) + "\n")
    return 0


def _migrate_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("migrate", help="apply sql/ to a PostgreSQL or Supabase database",
                       description=cmd_migrate.__doc__)
    p.add_argument("--dsn", help="postgresql://... (default: $POSTGRES_URL or $DATABASE_URL)")
    p.set_defaults(handler=cmd_migrate)


def _export_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("export", help="write metric rows (JSON lines or CSV)",
                       description=cmd_export.__doc__)
    _add_window_options(p)
    _add_source_options(p)
    p.add_argument("--step", default=str(DEFAULT_STEP),
                   help=f"seconds between ticks, >= {MIN_STEP} (default {DEFAULT_STEP})")
    p.add_argument("--server", action="append", metavar="ID",
                   help="only this server (repeatable; default: the whole fleet)")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--out", help="output file (default: stdout)")
    p.set_defaults(handler=cmd_export)


def _incidents_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("incidents", help="print the ground truth of a window as JSON",
                       description=cmd_incidents.__doc__)
    _add_window_options(p)
    _add_source_options(p)
    p.set_defaults(handler=cmd_incidents)


def cmd_analyze(args: argparse.Namespace) -> int:
    """Print the incidents detected in metric rows as a JSON array (lib/analysis)."""
    from lib.app import evaluation  # numpy-heavy; only this command pays for the import

    settings = command_settings(args, sys.stderr)
    roles = evaluation.fleet_roles(settings.fleet_profile)
    if args.input:
        with open(args.input, newline="") as source:
            found = evaluation.analyze(evaluation.read_rows(source, args.format), roles)
    else:
        if not (args.start and args.end):
            raise InvalidParameter("--input", "give --input FILE, or --start and --end")
        start, end = resolve_window(args)
        found = evaluation.analyze_window(start, end, settings.metrics_seed,
                                          settings.fleet_profile, _parse_step(args.step),
                                          timezone=settings.fleet_timezone)
    json.dump(found, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _analyze_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("analyze", help="detect incidents in metric rows (JSON)",
                       description=cmd_analyze.__doc__)
    p.add_argument("--input", help="rows as `export` writes them (else --start/--end)")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--start", help="window start, ISO 8601 (simulated rows, 7 days of history)")
    p.add_argument("--end", help="window end (exclusive), ISO 8601")
    p.add_argument("--step", default=str(DEFAULT_STEP), help="seconds between ticks")
    _add_source_options(p)
    p.set_defaults(handler=cmd_analyze)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score the analysis and the NSigma/RobustScorer baselines against the ground truth."""
    from lib.app import evaluation

    start, end = resolve_window(args)
    settings = command_settings(args, sys.stderr)
    card: Any
    if args.alerts:
        from lib.app import alert_replay

        card = alert_replay.evaluate_alerts(start, end, settings.metrics_seed,
                                            settings.fleet_profile, _parse_step(args.step),
                                            rules=_rules(args, settings))
    else:
        card = evaluation.evaluate(start, end, settings.metrics_seed, settings.fleet_profile,
                                   _parse_step(args.step))
    if args.json:
        json.dump(card.as_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(card.table() + "\n")
    return 0


def _evaluate_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("evaluate", help="scorecard of the analysis against the ground truth",
                       description=cmd_evaluate.__doc__)
    _add_window_options(p)
    _add_source_options(p)
    p.add_argument("--step", default=str(DEFAULT_STEP), choices=("600", "30"),
                   help="seconds between ticks (default 600)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--alerts", action="store_true",
                   help="score the alert engine's notifications instead (docs/alerts.md)")
    p.add_argument("--file", help="with --alerts: a rules file (default: the defaults)")
    p.set_defaults(handler=cmd_evaluate)


def cmd_alerts_replay(args: argparse.Namespace) -> int:
    """Run the alert engine tick by tick over a past window and print every notification it
    would send, one JSON object per line (no network)."""
    from lib.app import alert_replay, evaluation

    settings = command_settings(args, sys.stderr)
    rules = _rules(args, settings)
    if args.input:
        roles = evaluation.fleet_roles(settings.fleet_profile)
        with open(args.input, newline="") as source:
            result = alert_replay.replay_rows(evaluation.read_rows(source, args.format), roles,
                                              rules=rules)
    else:
        if not (args.start and args.end):
            raise InvalidParameter("--input", "give --input FILE, or --start and --end")
        start, end = resolve_window(args)
        result = alert_replay.replay_window(start, end, settings.metrics_seed,
                                            settings.fleet_profile, _parse_step(args.step),
                                            timezone=settings.fleet_timezone, rules=rules)
    for notification in result.notifications:
        sys.stdout.write(json.dumps(alert_replay.notification_line(notification)) + "\n")
    return 0


def cmd_alerts_check(args: argparse.Namespace) -> int:
    """Validate the alert rules file (ALERT_RULES_FILE, or --file) and list its rules."""
    from lib.alerts.rules import RuleError

    settings = command_settings(args, sys.stderr)
    try:
        rules = _rules(args, settings)
    except RuleError as exc:
        for problem in exc.problems:
            sys.stderr.write(f"error: {problem}\n")
        return 1
    where = args.file or settings.alert_rules_file or "the shipped defaults"
    sys.stdout.write(f"{where}: {len(rules.rules)} rules valid\n")
    for rule in rules.rules:
        sys.stdout.write(f"  {rule.name} ({rule.kind})\n")
    return 0


def _rules(args: argparse.Namespace, settings: Settings) -> RuleSet:
    from lib.alerts.rules import default_rules, load_rules

    path = getattr(args, "file", None) or settings.alert_rules_file
    return load_rules(path) if path else default_rules()


def _alerts_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("alerts", help="the alert engine: replay a window, check the rules",
                       description="The alert engine (docs/alerts.md).")
    inner = p.add_subparsers(dest="alerts_command", required=True, parser_class=_Parser)
    r = inner.add_parser("replay", help="notifications the engine would send over a window",
                         description=cmd_alerts_replay.__doc__)
    r.add_argument("--input", help="rows as `export` writes them (else --start/--end)")
    r.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    r.add_argument("--start", help="window start, ISO 8601 (simulated rows, 7 days of history)")
    r.add_argument("--end", help="window end (exclusive), ISO 8601")
    r.add_argument("--step", default=str(DEFAULT_STEP), choices=("600", "30"),
                   help="seconds between ticks (default 600)")
    r.add_argument("--file", help="a rules file (default: ALERT_RULES_FILE, else the defaults)")
    _add_source_options(r)
    r.set_defaults(handler=cmd_alerts_replay)
    c = inner.add_parser("check", help="validate the rules file", description=cmd_alerts_check
                         .__doc__)
    c.add_argument("--file", help="the rules file (default: ALERT_RULES_FILE)")
    c.set_defaults(handler=cmd_alerts_check)


def cmd_budget(args: argparse.Namespace) -> int:
    """A month of this usage against the free tiers (Vercel Hobby, Upstash, Supabase).

    The per-operation costs are those bench/bench_budget.py measured; each line is shown with
    its share of the free tier (the goal: at most a third).
    """
    from pathlib import Path

    from lib.app import budget

    for name in ("viewers", "always_open", "poll_seconds", "alerts_every"):
        if getattr(args, name) < (1 if name == "poll_seconds" else 0):
            raise InvalidParameter("--" + name.replace("_", "-"), "must not be negative"
                                   if name != "poll_seconds" else "must be at least 1")
    settings = get_settings()
    usage = budget.Usage(
        always_open=args.always_open, viewers=args.viewers, viewer_hours=args.viewer_hours,
        poll_seconds=args.poll_seconds, alerts_every=args.alerts_every,
        real_source=args.real_source, cdn=not args.no_cdn,
        retention_hours=settings.retention_hours,
        history_retention_days=settings.history_retention_days,
        servers=len(simulator_from(settings).fleet))
    costs = budget.load_costs(Path(args.costs) if args.costs else budget.COSTS_FILE)
    sys.stdout.write("| line | a month | free tier | share | goal (≤ 1/3) |\n"
                     "|---|---|---|---|---|\n")
    sys.stdout.writelines(line.text() + "\n" for line in budget.monthly(usage, costs))
    sys.stdout.write(f"\nmost always-open dashboards that fit the free tiers: "
                     f"{budget.max_dashboards(usage, costs):,}\n")
    if "alerts" not in costs["operations"]:
        sys.stdout.write("alert evaluations are not counted: the costs file has none\n")
    return 0


def _budget_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("budget", help="a month of usage against the free tiers",
                       description=cmd_budget.__doc__)
    p.add_argument("--viewers", type=int, default=10,
                   help="people who watch during their working hours (default 10)")
    p.add_argument("--viewer-hours", type=float, default=8.0,
                   help="hours a day each of them watches (default 8)")
    p.add_argument("--always-open", type=int, default=1,
                   help="dashboards open around the clock (default 1)")
    p.add_argument("--poll-seconds", type=int, default=30,
                   help="seconds between a dashboard's polls (default 30, the tick)")
    p.add_argument("--alerts-every", type=int, default=60,
                   help="seconds between alert evaluations, 0 for none (default 60)")
    p.add_argument("--real-source", action="store_true",
                   help="a real collector instead of the simulator (uses Upstash)")
    p.add_argument("--no-cdn", action="store_true",
                   help="count an invocation per poll (no sharing through Vercel's CDN)")
    p.add_argument("--costs", help="per-operation costs (default: lib/app/budget_costs.json)")
    p.set_defaults(handler=cmd_budget)


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer a plain-language question about the fleet (Korean or English) as GET /api/ask
    does: the answer, and with --json the intent, entities and facts."""
    from lib.app.assistant import answer_question
    from lib.cache import MemoryCache, get_cache
    from lib.collectors import get_collector
    from lib.store import get_store

    settings = command_settings(args, sys.stderr)
    store, warm = get_store(settings), get_cache(settings)
    try:
        result = answer_question(store, get_collector(settings), MemoryCache(), warm, settings,
                                 int(time.time()), q=args.question, at=args.at)
    finally:
        store.close()
        warm.close()
    payload = result.payload
    sys.stdout.write(payload["answer"] + "\n")
    if args.json:
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    return 0


def _ask_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("ask", help="answer a question about the fleet", description=cmd_ask.__doc__)
    p.add_argument("question", help="e.g. \"is db-01 ok?\" or \"db-01 상태 어때?\"")
    p.add_argument("--at", help="answer as of this instant, ISO 8601 (default: now)")
    p.add_argument("--json", action="store_true", help="also print the whole answer as JSON")
    _add_source_options(p)
    p.set_defaults(handler=cmd_ask)


# Commands register here; each adds its subparser and sets ``handler``.
COMMANDS: list[Callable[[argparse._SubParsersAction[_Parser]], None]] = [
    _export_parser,
    _incidents_parser,
    _generate_parser,
    _serve_parser,
    _migrate_parser,
    _analyze_parser,
    _evaluate_parser,
    _budget_parser,
    _alerts_parser,
    _ask_parser,
]


def build_parser() -> _Parser:
    parser = _Parser(prog="python -m lib", description="Simulated server fleet and monitoring API.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except InvalidParameter as exc:
        sys.stderr.write(f"error: {exc.parameter}: {exc.detail}\n")
    except ConfigError as exc:
        sys.stderr.write(f"error: {exc}\n")
    except FleetError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); stop quietly.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    return 2
