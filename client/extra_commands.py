"""`crs estimate` (POST /jobs/estimate) and `crs predict` (POST /jobs/{id}/predict) (issue 18)."""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from client.api import Client
from client.fields import parse_fields
from client.watch import human_duration

OK = 0


def _emit(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def estimate(client: Client, args: argparse.Namespace) -> int:
    found = client.call("POST", "/jobs/estimate", json=parse_fields(args.fields))
    if args.json:
        _emit(json.dumps(found, indent=2))
        return OK
    spec = found["spec"]
    name = f"{spec['architecture']}{spec['depth']}"
    _emit(f"job         {name}, {spec['epochs']} epochs on {spec['dataset']}")
    _emit(f"parameters  {found['trainable_parameters']:,}")
    flops = found.get("training_flops_per_image")
    if flops:
        _emit(f"training    {flops / 1e6:,.0f} MFLOPs per image")
    for device in found.get("estimates") or []:
        _emit(
            f"{device['device']} ({device['precision']}): {human_duration(device['seconds'])} "
            f"({human_duration(device['seconds_per_epoch'])} an epoch, "
            f"{device['images_per_second']:,.0f} img/s)"
        )
    if not found.get("estimates"):
        _emit(f"time        unknown: {found.get('method')}")
    return OK


def predict(client: Client, args: argparse.Namespace) -> int:
    files = []
    for name in args.images:
        path = Path(name)
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        files.append(("images", (path.name, path.read_bytes(), kind)))
    found = client.call("POST", f"/jobs/{args.job_id}/predict", params={"k": args.k}, files=files)
    if args.json:
        _emit(json.dumps(found, indent=2))
        return OK
    for item in found.get("predictions") or []:
        best = ", ".join(
            f"{c['label']} {100 * float(c['probability']):.1f}%" for c in item.get("top") or []
        )
        _emit(f"{item.get('image')}: {best}")
    return OK


def add_parsers(
    add: Callable[[str, Any, str], argparse.ArgumentParser], fields_help: str = ""
) -> None:
    estimated = add(
        "estimate",
        estimate,
        "what a job would cost and take, before submitting it: the flags of crs submit",
    )
    estimated.set_defaults(takes_fields=True)
    estimated.epilog = fields_help
    estimated.formatter_class = argparse.RawDescriptionHelpFormatter
    estimated.add_argument("--json", action="store_true")

    predicted = add("predict", predict, "classify image files with a succeeded job's model")
    predicted.add_argument("job_id")
    predicted.add_argument("images", nargs="+", help="PNG or JPEG files, 32x32 RGB")
    predicted.add_argument("-k", type=int, default=3, help="classes per image (default 3)")
    predicted.add_argument("--json", action="store_true")
