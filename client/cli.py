"""`crs` (also `python -m client`): submit, watch, list, show, events, cancel, download, metrics.

Every failure is one line on stderr and a documented exit status, never a traceback
(CRS_DEBUG=1 shows one for an unexpected error).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from client import commands, dataset_commands, extra_commands, sweep_commands
from client.api import Client
from client.api_types import STATUSES
from client.errors import ApiError, ChecksumMismatch, ConnectionFailed, CrsError, Unauthorized
from client.fields import FieldSyntaxError
from client.job_ids import AmbiguousId, resolve_job_id, resolve_sweep_id
from client.schema_help import fields_epilog
from client.user_config import (
    KEY_VARIABLE,
    URL_VARIABLE,
    ConfigError,
    config_path,
    resolve,
    resolve_url,
)

USAGE_ERROR = 2  # a wrong command line, a refused request (4xx), no key
SERVICE_ERROR = 3  # unreachable, 5xx, a corrupt download
INTERNAL_ERROR = 70  # a bug here (EX_SOFTWARE)

EPILOG = f"""\
server and key: --url/--key, else ${URL_VARIABLE}/${KEY_VARIABLE}, else the config file
{config_path()} (url = "...", key = "..."; another file with $CRS_CONFIG),
else var/local-api-key and var/local-api-url of this folder or a parent (`make run`).

exit status: 0 success; 1 the watched job failed or was cancelled; 2 bad usage, a request
the service refused (4xx, wrong key) or a file that cannot be written; 3 the service is
unreachable or failing (5xx), or a download is corrupt; 130 Ctrl-C (a watched job keeps
running unless --cancel-on-interrupt).
"""

Command = Callable[[Client, argparse.Namespace], int]


def _connection_options() -> argparse.ArgumentParser:
    # A parent of every subcommand, so `crs --url U list` and `crs list --url U` both work.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url", default=argparse.SUPPRESS, help=f"the service (default: ${URL_VARIABLE}, ...)"
    )
    common.add_argument(
        "--key", default=argparse.SUPPRESS, help=f"the API key (default: ${KEY_VARIABLE}, ...)"
    )
    return common


def _watch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cancel-on-interrupt",
        action="store_true",
        help="Ctrl-C cancels the job (default: it detaches and the job keeps running)",
    )


def build_parser(fields_help: str = "") -> argparse.ArgumentParser:
    """The parser; `fields_help` (the job fields from the schema) ends submit's --help."""
    common = _connection_options()
    parser = argparse.ArgumentParser(
        prog="crs",
        description="Train CIFAR ResNets on the service: submit jobs, watch them, get weights.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
        allow_abbrev=False,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    def add(name: str, run: Command, help_: str) -> argparse.ArgumentParser:
        # No abbreviations: `--id` must stay a job field, not become `--idempotency-key`.
        command = sub.add_parser(
            name, help=help_, description=help_, parents=[common], allow_abbrev=False
        )
        command.set_defaults(run=run)
        return command

    submit = add(
        "submit",
        commands.submit,
        "submit a job; every field of POST /jobs is a flag: --architecture resnet --depth 56 "
        "--epochs 164 [--lr-schedule cosine --no-augment ...]; all are listed below",
    )
    submit.epilog = fields_help
    submit.formatter_class = argparse.RawDescriptionHelpFormatter
    submit.set_defaults(takes_fields=True)
    submit.add_argument("--watch", action="store_true", help="follow it with a progress bar")
    _watch_options(submit)
    submit.add_argument("--idempotency-key", help="a retry with the same key returns the same job")
    submit.add_argument("-q", "--quiet", action="store_true", help="print only the job's id")
    submit.add_argument("--json", action="store_true", help="print the job as JSON")

    watch = add("watch", commands.watch_command, "follow a job with a progress bar until it ends")
    watch.add_argument("job_id")
    _watch_options(watch)

    listing = add("list", commands.list_command, "your jobs, newest first")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    listing.add_argument("--json", action="store_true")

    show = add("show", commands.show, "a job's status, spec, progress, metrics and error")
    show.add_argument("job_id")
    show.add_argument("--json", action="store_true")

    events = add("events", commands.events, "a job's event log (status, attempt, epoch, warning)")
    events.add_argument("job_id")
    events.add_argument("--after", type=int, help="only events after this id")
    events.add_argument("--type", choices=["status", "attempt", "epoch", "warning"])
    events.add_argument("--follow", "-f", action="store_true", help="then the live ones")
    events.add_argument("--progress", action="store_true", help="with --follow: progress too")
    events.add_argument("--json", action="store_true", help="one JSON object a line")

    cancel = add("cancel", commands.cancel, "cancel a queued or running job")
    cancel.add_argument("job_id")

    download = add("download", commands.download, "save a succeeded job's weights")
    download.add_argument("job_id")
    download.add_argument("-o", "--output", help="file or folder; dir/ is created")
    download.add_argument(
        "--format", choices=["pt", "safetensors", "onnx"], default="pt", help="default: pt"
    )

    sweep_commands.add_parsers(sub, common, "--epochs 30, --batch-size 64, ...")
    extra_commands.add_parsers(add, fields_help)

    dataset_commands.add_parser(add, common)  # crs dataset upload|list|show|delete (issue 19)

    metrics = add("metrics", commands.metrics, "a job's per-epoch metrics")
    metrics.add_argument("job_id")
    output = metrics.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="as CSV with a header")
    output.add_argument("--json", action="store_true")
    return parser


def fail(message: str, status: int) -> int:
    sys.stderr.write(f"crs: error: {' '.join(message.split())}\n")
    sys.stderr.flush()
    return status


def _fields_help(argv: list[str]) -> str:
    """The job fields from the service's schema, only for `crs submit/estimate --help`."""
    words = [word for word in argv if not word.startswith("-")]
    if not words or words[0] not in ("submit", "estimate") or not {"-h", "--help"} & set(argv):
        return ""
    given = argv[argv.index("--url") + 1] if "--url" in argv[:-1] else None
    try:
        return fields_epilog(resolve_url(url=given))
    except ConfigError as error:
        return f"job fields: {error}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(_fields_help(sys.argv[1:] if argv is None else argv))
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "takes_fields", False):
        args.fields = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    key_source = "--key"
    try:
        settings = resolve(url=getattr(args, "url", None), key=getattr(args, "key", None))
        key_source = settings.key_source
        with Client(settings.url, settings.key) as client:
            if getattr(args, "job_id", None):
                args.job_id = resolve_job_id(client, args.job_id)
            if getattr(args, "sweep_id", None):
                args.sweep_id = resolve_sweep_id(client, args.sweep_id)
            run: Command = args.run
            return run(client, args)
    except KeyboardInterrupt:
        return commands.INTERRUPTED
    except (ConfigError, FieldSyntaxError, AmbiguousId) as error:
        return fail(str(error), USAGE_ERROR)
    except Unauthorized as error:
        return fail(f"the API key from {key_source} was refused ({error})", USAGE_ERROR)
    except ConnectionFailed as error:
        hint = "" if getattr(args, "url", None) else f" (set --url or {URL_VARIABLE})"
        return fail(f"{error}{hint}", SERVICE_ERROR)
    except ApiError as error:
        return fail(str(error), SERVICE_ERROR if error.status >= 500 else USAGE_ERROR)
    except (ChecksumMismatch, CrsError) as error:
        return fail(str(error), SERVICE_ERROR)
    except OSError as error:  # a file that cannot be written
        return fail(str(error), USAGE_ERROR)
    except Exception as error:
        if os.environ.get("CRS_DEBUG"):
            raise
        return fail(
            f"unexpected {type(error).__name__}: {error} (CRS_DEBUG=1 shows where)", INTERNAL_ERROR
        )


def run() -> None:
    """The console script's entry point."""
    sys.exit(main())
