"""What each `crs` command does, over `client.Client`; output goes to stdout, one record a line."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime, timezone
from typing import Any

from rich.console import Console

from client.api import Client
from client.api_types import Event
from client.fields import parse_fields
from client.job import Job
from client.watch import (
    attempt_line,
    duration,
    epoch_line,
    error_percent,
    human_duration,
    status_line,
    warning_line,
)

# Exit statuses a script can rely on (also in `crs --help`).
OK, JOB_FAILED, INTERRUPTED = 0, 1, 130


def emit(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def emit_json(value: Any) -> None:
    emit(json.dumps(value, indent=2, default=str))


def job_line(job: Job) -> str:
    accuracy = job.final_test_accuracy
    if accuracy is None:
        accuracy = (job.data.get("latest_metrics") or {}).get("test_accuracy")
    return (
        f"{job.id}  {job.status:<9}  {job.name:<10}  "
        f"{job.epochs_done:>4}/{job.epochs:<4}  {error_percent(accuracy):>8}  "
        f"{str(job.data.get('created_at', ''))[:19]}"
    )


# The columns of job_line; "test err" is the final (else the latest) test error.
LIST_HEADER = f"{'id':<36}  {'status':<9}  {'name':<10}  {'epochs':>9}  {'test err':>8}  created"


def event_line(event: Event, epochs: int = 0) -> str:
    """One event; `epochs` is the job's epoch count (epoch events do not carry it)."""
    data = event.data
    if event.type == "epoch":
        text = epoch_line(data, int(data.get("epochs") or epochs))
    elif event.type == "status":
        text = status_line(data).removeprefix("status ")  # the type column says it
    elif event.type == "attempt":
        text = attempt_line(data)
    elif event.type == "warning":
        text = warning_line(data)
    elif event.type == "progress":
        text = (
            f"epoch {data.get('epoch', '?')} batch {data.get('batch', '?')}/"
            f"{data.get('batches_per_epoch', '?')}  ETA {duration(data.get('eta_seconds'))}"
        )
    else:
        text = json.dumps(data, default=str)
    ident = "-" if event.id is None else str(event.id)
    return f"{ident:>6}  {(event.created_at or '')[:19]:<19}  {event.type:<8}  {text}"


def watch(client: Client, job: Job, args: argparse.Namespace) -> int:
    """Follow the job to its end: 0 if it succeeded, 1 if not, 130 on Ctrl-C (detached)."""
    try:
        final = job.wait(progress=True, console=Console(highlight=False))
    except KeyboardInterrupt:
        if getattr(args, "cancel_on_interrupt", False):
            answer = client.cancel(job.id)
            emit(f"interrupted: cancel requested for job {job.id} (now {answer.status})")
        else:
            emit(f"detached: job {job.id} keeps running (crs watch {job.id} to follow it again)")
        return INTERRUPTED
    return OK if final.status == "succeeded" else JOB_FAILED


def submit(client: Client, args: argparse.Namespace) -> int:
    spec = parse_fields(args.fields)
    job = client.submit(idempotency_key=args.idempotency_key, **spec)
    if args.json:
        emit_json(job.data)
    elif args.quiet:
        emit(job.id)
    else:
        emit(f"submitted job {job.id}: {job.name}, {job.epochs} epochs, {job.status}")
    if args.watch:
        return watch(client, job, args)
    return OK


def watch_command(client: Client, args: argparse.Namespace) -> int:
    job = client.job(args.job_id)
    emit(f"job {job.id}: {job.name}, {job.epochs} epochs, {job.status}")
    return watch(client, job, args)


def list_command(client: Client, args: argparse.Namespace) -> int:
    jobs = client.list(status=args.status, limit=args.limit)
    if args.json:
        emit_json([job.data for job in jobs])
        return OK
    emit(LIST_HEADER)
    for job in jobs:
        emit(job_line(job))
    return OK


def show(client: Client, args: argparse.Namespace) -> int:
    job = client.job(args.job_id)
    if args.json:
        emit_json(job.data)
        return OK
    spec = ", ".join(f"{name}={value}" for name, value in job.spec.items())
    emit(f"job       {job.id}")
    emit(
        f"status    {job.status}{' (cancel requested)' if job.data.get('cancel_requested') else ''}"
    )
    emit(f"spec      {spec}")
    progress = job.data.get("progress") or {}
    inside = ""
    if progress.get("batch") is not None:
        # The running epoch, from the training process's latest report (issue 8).
        inside = (
            f" (epoch {progress.get('epoch')}: batch {progress['batch']}/"
            f"{progress.get('batches_per_epoch')}, "
            f"{float(progress.get('images_per_second') or 0):,.0f} img/s)"
        )
    emit(
        f"progress  {job.epochs_done}/{job.epochs} epochs{inside}, "
        f"attempts {job.data.get('attempts')}"
    )
    queue = job.data.get("queue")
    if queue:
        emit(f"queue     {_queue_place(queue)}")
    if progress.get("eta_seconds") is not None:
        emit(f"eta       {duration(progress['eta_seconds'])}")
    latest = job.data.get("latest_metrics")
    if latest:
        emit(f"latest    {epoch_line(latest, job.epochs)}")
    if job.final_test_accuracy is not None:
        emit(f"final     test error {error_percent(job.final_test_accuracy)}")
    if job.error:
        emit(f"error     {job.error.get('code')}: {job.error.get('message')}")
    for name in ("created_at", "started_at", "finished_at"):
        if job.data.get(name):
            emit(f"{name.removesuffix('_at'):<9} {job.data[name]}")
    return OK


def _queue_place(queue: dict[str, Any]) -> str:
    place = f"place {queue.get('position')} ({queue.get('jobs_ahead')} jobs ahead, "
    place += f"{queue.get('running')} running)"
    start = queue.get("expected_start")
    if not start:
        return f"{place}; no expected start: {queue.get('method')}"
    try:
        when = datetime.fromisoformat(str(start))
        wait = human_duration((when - datetime.now(timezone.utc)).total_seconds())
        return f"{place}; expected start {when.astimezone():%Y-%m-%d %H:%M} (in {wait})"
    except ValueError:
        return f"{place}; expected start {start}"


def events(client: Client, args: argparse.Namespace) -> int:
    epochs = client.job(args.job_id).epochs
    if args.follow:
        for event in client.stream(args.job_id, after=args.after):
            if event.type == "progress" and not args.progress:
                continue
            if args.type and event.type != args.type:
                continue
            line = event_line(event, epochs)
            emit(json.dumps(event.to_json(), default=str) if args.json else line)
        return OK
    found = client.all_events(args.job_id, after=args.after, type=args.type)
    for event in found:
        emit(json.dumps(event.to_json(), default=str) if args.json else event_line(event, epochs))
    return OK


def cancel(client: Client, args: argparse.Namespace) -> int:
    job = client.cancel(args.job_id)
    if job.status == "running":
        emit(f"job {job.id}: cancel requested; it stops between two batches")
    else:
        emit(f"job {job.id}: {job.status}")
    return OK


def download(client: Client, args: argparse.Namespace) -> int:
    path = client.download(args.job_id, args.output, format=args.format)
    emit(f"saved {path} ({path.stat().st_size:,} bytes, sha256 matches the ETag)")
    return OK


def metrics(client: Client, args: argparse.Namespace) -> int:
    records = client.metrics(args.job_id)
    if args.json:
        emit_json(records)
    elif args.csv:
        names = list(records[0]) if records else ["epoch"]
        writer = csv.DictWriter(sys.stdout, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow(dict(record))
    else:
        epochs = client.job(args.job_id).epochs
        for record in records:
            emit(epoch_line(dict(record), epochs))
    return OK
