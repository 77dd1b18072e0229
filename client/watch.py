"""Watching a job at a terminal: a live progress bar and one line per epoch, fed by its events.

The bar (rich) shows the epoch k/N, the batches done of the epoch, images/s, the job's ETA and the
last test error; it is drawn only on a terminal, while the lines (status, attempts, epochs,
warnings) are printed everywhere, so a log or a pipe gets the same record without the bar.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn

from client.api_types import Event

if TYPE_CHECKING:
    from client.job import Job


def watch(job: Job, *, console: Console | None = None) -> Job:
    """Show the job's events until it ends; its final snapshot."""
    with Display(console or Console(), job) as display:
        for event in job.stream(on_reconnect=display.reconnecting):
            display.show(event)
    final = job.refresh()
    display.summary(final)
    return final


def error_percent(accuracy: Any) -> str:
    """An accuracy (a fraction) as the error people read, in % (the paper's unit), 2 decimals."""
    return "-" if accuracy is None else f"{100 * (1 - float(accuracy)):.2f}%"


def duration(seconds: Any) -> str:
    """h:mm:ss or m:ss; '-' when unknown."""
    if seconds is None:
        return "-"
    total = max(0, round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def human_duration(seconds: Any) -> str:
    """A duration as people say it: "45 s", "12 min", "1 h 12 min", "2 d 3 h"; '-' unknown."""
    if seconds is None:
        return "-"
    total = max(0, round(float(seconds)))
    if total < 60:
        return f"{total} s"
    minutes = round(total / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def epoch_line(record: dict[str, Any], epochs: int) -> str:
    width = len(str(epochs)) if epochs else 1
    return (
        f"epoch {int(record.get('epoch', 0)):>{width}}/{epochs or '?'}"
        f"  train loss {float(record.get('train_loss', 0)):.4f}"
        f" err {error_percent(record.get('train_accuracy'))}"
        f"  test loss {float(record.get('test_loss', 0)):.4f}"
        f" err {error_percent(record.get('test_accuracy'))}"
        f"  lr {float(record.get('learning_rate', 0)):.4g}"
        f"  {float(record.get('images_per_second', 0)):,.0f} img/s"
        f"  {duration(record.get('seconds'))}"
    )


def status_line(data: dict[str, Any]) -> str:
    """`status` events: {"status", "attempt", "worker", "error": {"code", "message"} if failed}."""
    status = str(data.get("status", "?"))
    parts = [f"status {status}"]
    details = []
    if data.get("attempt"):
        details.append(f"attempt {data['attempt']}")
    if data.get("worker"):
        details.append(f"worker {data['worker']}")
    if details:
        parts.append(f"({', '.join(details)})")
    error = data.get("error")
    if isinstance(error, dict):
        parts.append(f"{error.get('code', 'error')}: {error.get('message', '')}")
    return " ".join(parts)


def attempt_line(data: dict[str, Any]) -> str:
    """`attempt` events: {"attempt", "worker", "start": "fresh" | "resumed", "epoch", "batch"},
    epoch and batch being where the checkpoint it resumes from was taken."""
    where = f" on {data['worker']}" if data.get("worker") else ""
    if data.get("start") == "resumed":
        start = f"resumed after epoch {data.get('epoch', '?')}"
        if data.get("batch"):
            start += f", batch {data['batch']} of the next"
        start += " from a checkpoint"
    else:
        start = "fresh start"
    return f"attempt {data.get('attempt', '?')}{where}: {start}"


def warning_line(data: dict[str, Any]) -> str:
    code = f"{data['code']}: " if data.get("code") else ""
    return f"warning: {code}{data.get('message', data)}"


class Display:
    """Turns events into the bar's fields and printed lines."""

    def __init__(self, console: Console, job: Job) -> None:
        self.console = console
        self.job = job
        self.epochs = job.epochs
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=30),
            TextColumn("{task.fields[batches]}"),
            TextColumn("{task.fields[speed]}"),
            TextColumn("ETA {task.fields[eta]}"),
            TextColumn("test err {task.fields[accuracy]}"),
            console=console,
            transient=True,  # the summary line replaces it at the end
            refresh_per_second=4,
        )
        self.current_epoch = job.epochs_done + 1
        self.state = "" if job.status == "running" else job.status
        self.task: TaskID = self.progress.add_task(
            self._description(),
            total=None,
            batches="",
            speed="",
            eta="-",
            accuracy=error_percent((job.data.get("latest_metrics") or {}).get("test_accuracy")),
        )

        progress = job.data.get("progress") or {}
        if progress.get("batch") is not None:  # a running job's latest report, until the next
            self._progress(progress)

    def __enter__(self) -> Display:
        self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def _description(self) -> str:
        epoch = min(max(self.current_epoch, 1), self.epochs or self.current_epoch)
        return f"epoch {epoch}/{self.epochs or '?'} {self.state}".strip()

    def line(self, text: str) -> None:
        # soft_wrap: a long line stays one line (the terminal wraps it), as in a log file.
        self.console.print(escape(text), highlight=False, soft_wrap=True)

    def show(self, event: Event) -> None:
        data = event.data
        if event.type == "progress":
            self._progress(data)
        elif event.type == "epoch":
            self.line(epoch_line(data, self.epochs))
            self.current_epoch = int(data.get("epoch", 0)) + 1
            self.progress.update(
                self.task,
                description=self._description(),
                completed=0,
                batches="",
                accuracy=error_percent(data.get("test_accuracy")),
            )
        elif event.type == "status":
            if not event.is_final:
                self.line(status_line(data))
            status = str(data.get("status", ""))
            self.state = "" if status == "running" else status
            self.progress.update(self.task, description=self._description())
        elif event.type == "attempt":
            self.line(attempt_line(data))
        elif event.type == "warning":
            self.line(warning_line(data))

    def _progress(self, data: dict[str, Any]) -> None:
        # {"epoch" (1-based, the one running), "epochs", "batch", "batches_per_epoch",
        #  "images_per_second", "epoch_eta_seconds", "eta_seconds" (the job's), "at"}
        batch, batches = data.get("batch"), data.get("batches_per_epoch")
        fields: dict[str, Any] = {}
        if batch is not None and batches:
            fields.update(completed=int(batch), total=int(batches))
            fields["batches"] = f"batch {int(batch)}/{int(batches)}"
        if data.get("images_per_second") is not None:
            fields["speed"] = f"{float(data['images_per_second']):,.0f} img/s"
        if "eta_seconds" in data:
            fields["eta"] = duration(data["eta_seconds"])
        if data.get("epoch") is not None:
            self.current_epoch = int(data["epoch"])
        self.state = ""
        self.progress.update(self.task, description=self._description(), **fields)

    def reconnecting(self, tries: int, reason: str) -> None:
        self.line(f"connection lost ({reason}); reconnecting (try {tries})")

    def summary(self, job: Job) -> None:
        if job.status == "succeeded":
            best = job.data.get("best_on_test_set") or {}
            extra = (
                f" (best {error_percent(best.get('test_accuracy'))} at epoch {best.get('epoch')})"
                if best
                else ""
            )
            self.line(
                f"succeeded: final test error {error_percent(job.final_test_accuracy)}{extra}; "
                f"crs download {job.id}"
            )
        elif job.status == "failed":
            error = job.error or {}
            self.line(f"failed: {error.get('code', 'failed')}: {error.get('message', '')}")
        else:
            self.line(f"{job.status} after {job.epochs_done} of {self.epochs} epochs")
