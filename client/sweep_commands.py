"""`crs sweep ...`: submit, list, show, report, figure, cancel (the API's /sweeps, issue 18)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from client.api import Client
from client.errors import CrsError
from client.fields import parse_fields, parse_value

OK = 0


def _emit(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if args.file:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        try:
            body = json.loads(text)
        except json.JSONDecodeError as error:
            raise CrsError(f"{args.file} is not a JSON sweep body: {error}") from None
    for name in ("preset", "name", "seeds"):
        if getattr(args, name) is not None:
            body[name] = getattr(args, name)
    for item in args.grid or []:
        field, _, values = item.partition("=")
        if not values:
            raise CrsError(f"--grid {item!r}: expected FIELD=V1,V2,...")
        body.setdefault("grid", {})[field.replace("-", "_")] = [
            parse_value(v) for v in values.split(",")
        ]
    body.update(parse_fields(args.fields))  # job fields at the top level override the base
    return body


def sweep_line(sweep: dict[str, Any]) -> str:
    progress = sweep.get("progress") or {}
    counts = ", ".join(f"{n} {s}" for s, n in sorted((sweep.get("counts") or {}).items()))
    label = sweep.get("name") or sweep.get("preset") or "-"
    ended = f"{progress.get('finished', 0):>3}/{progress.get('total', 0):<3}"
    return f"{sweep['id']}  {label:<20}  {ended}  {counts}"


SWEEP_HEADER = f"{'id':<36}  {'name':<20}  {'ended':>7}  children"


def submit(client: Client, args: argparse.Namespace) -> int:
    sweep = client.call("POST", "/sweeps", json=_body(args))
    if args.json:
        _emit(json.dumps(sweep, indent=2))
    else:
        total = (sweep.get("progress") or {}).get("total")
        varying = ", ".join(sweep.get("varying") or []) or "nothing"
        _emit(f"submitted sweep {sweep['id']}: {total} jobs, varying {varying}")
    return OK


def list_command(client: Client, args: argparse.Namespace) -> int:
    page = client.call("GET", "/sweeps", params={"limit": args.limit})
    if args.json:
        _emit(json.dumps(page["sweeps"], indent=2))
        return OK
    _emit(SWEEP_HEADER)
    for sweep in page["sweeps"]:
        _emit(sweep_line(sweep))
    return OK


def show(client: Client, args: argparse.Namespace) -> int:
    sweep = client.call("GET", f"/sweeps/{args.sweep_id}")
    if args.json:
        _emit(json.dumps(sweep, indent=2))
        return OK
    _emit(sweep_line(sweep))
    _emit(f"{'job':<36}  {'status':<9}  {'epochs':>9}  {'test err':>8}  point")
    for child in sweep.get("children") or []:
        _emit(child_line(child))
    return OK


def child_line(child: dict[str, Any]) -> str:
    """A child of `crs sweep show`; its final test error, a fraction in the JSON, in %."""
    error = child.get("final_test_error")
    shown = "-" if error is None else f"{100 * float(error):.2f}%"
    point = ", ".join(f"{k}={v}" for k, v in (child.get("point") or {}).items())
    return (
        f"{child['id']}  {child['status']:<9}  "
        f"{child['epochs_done']:>4}/{child['epochs']:<4}  {shown:>8}  {point}"
    )


def report(client: Client, args: argparse.Namespace) -> int:
    body, name = client.fetch(f"/sweeps/{args.sweep_id}/report", params={"format": args.format})
    return _save_or_print(body, name, args.output)


def figure(client: Client, args: argparse.Namespace) -> int:
    body, name = client.fetch(f"/sweeps/{args.sweep_id}/figure", params={"format": args.format})
    target = _target(args.output or ".", name or f"sweep-{args.sweep_id}-figure6.{args.format}")
    target.write_bytes(body)
    _emit(f"saved {target} ({len(body):,} bytes)")
    return OK


def cancel(client: Client, args: argparse.Namespace) -> int:
    sweep = client.call("POST", f"/sweeps/{args.sweep_id}/cancel")
    _emit(sweep_line(sweep))
    return OK


def retry(client: Client, args: argparse.Namespace) -> int:
    answer = client.retry_sweep(args.sweep_id)
    if args.json:
        _emit(json.dumps(answer, indent=2))
        return OK
    sweep = answer["sweep"]
    counts = ", ".join(f"{n} {status}" for status, n in sorted(sweep["counts"].items()))
    retried = answer["retried"]
    if not retried:
        _emit(f"sweep {sweep['id']}: nothing to retry ({counts})")
        return OK
    _emit(f"sweep {sweep['id']}: {len(retried)} points retried; now {counts}")
    for job_id in retried:
        _emit(f"  {job_id}")
    return OK


def _target(output: str, name: str) -> Path:
    target = Path(output)
    if output.endswith(("/", "\\")) or target.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        target = target / name
    return target


def _save_or_print(body: bytes, name: str | None, output: str | None) -> int:
    if output is None:
        sys.stdout.write(body.decode())
        sys.stdout.flush()
        return OK
    target = _target(output, name or "report")
    target.write_bytes(body)
    _emit(f"saved {target} ({len(body):,} bytes)")
    return OK


def add_parsers(sub: Any, common: argparse.ArgumentParser, job_fields: str) -> None:
    """`crs sweep ACTION ...` under the top-level subcommands `sub`."""
    sweep = sub.add_parser(
        "sweep",
        help="sweeps: submit, list, show, report, figure, cancel, retry",
        allow_abbrev=False,
    )
    actions = sweep.add_subparsers(dest="action", required=True, metavar="action")

    def add(name: str, run: Any, help_: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(
            name, help=help_, description=help_, parents=[common], allow_abbrev=False
        )
        parser.set_defaults(run=run)
        return parser

    submit_parser = add(
        "submit",
        submit,
        "submit a sweep: a JSON body (POST /sweeps) and/or --preset, --seeds, --grid; job "
        f"fields as flags override the base or preset ({job_fields})",
    )
    submit_parser.add_argument("--file", "-f", help="a JSON sweep body (POST /sweeps), - for stdin")
    submit_parser.add_argument("--preset", help="a named sweep (GET /sweeps/presets)")
    submit_parser.add_argument("--name", help="a label for people")
    submit_parser.add_argument("--seeds", type=int, help="runs of each configuration")
    submit_parser.add_argument(
        "--grid", action="append", metavar="FIELD=V1,V2", help="every value is a child"
    )
    submit_parser.add_argument("--json", action="store_true", help="print the sweep as JSON")
    submit_parser.set_defaults(takes_fields=True)

    listing = add("list", list_command, "your sweeps, newest first")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true")

    shown = add("show", show, "a sweep's progress and its children (test error in %)")
    shown.add_argument("sweep_id")
    shown.add_argument("--json", action="store_true")

    reported = add("report", report, "the sweep's report (md, csv or json) to stdout or a file")
    reported.add_argument("sweep_id")
    reported.add_argument("--format", choices=["md", "csv", "json"], default="md")
    reported.add_argument("-o", "--output", help="file or folder (dir/ is created)")

    drawn = add("figure", figure, "the sweep's Figure 6 (png or svg) into a file")
    drawn.add_argument("sweep_id")
    drawn.add_argument("--format", choices=["png", "svg"], default="png")
    drawn.add_argument("-o", "--output", help="file or folder (default: the server's name here)")

    cancelled = add("cancel", cancel, "cancel the sweep's queued and running jobs")
    cancelled.add_argument("sweep_id")

    retried = add(
        "retry",
        retry,
        "queue a new attempt of every failed or cancelled child of a sweep (not the "
        "early-stopped ones); its report stays one",
    )
    retried.add_argument("sweep_id")
    retried.add_argument("--json", action="store_true", help="print the answer as JSON")
