"""Predictions through POST /jobs/{id}/predict against onnxruntime called directly (issue 11).

    .venv/bin/python bench/predict_bench.py            # ResNet-20 and ResNet-110
    .venv/bin/python bench/predict_bench.py --quick    # a smoke run

For each network: exports it to ONNX as the worker does, stores it as a succeeded job's
artifact in a fresh SQLite database, starts the API (uvicorn, one process) on it, then in the
same run, round-robin, measures (1) the latency of one image, p50 and p99, and (2) the throughput
of batches of 256 images (median), both through the endpoint (HTTP on 127.0.0.1: 32x32 PNG files as
multipart/form-data, and JSON arrays) and with onnxruntime called directly in this process on the
same ONNX file and the same default session options as the API. The goal: the endpoint's
batch throughput at least 70 % of the direct figure. Prints a table.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import HOST, uvicorn_server  # noqa: E402
from testkit.processes import free_port  # noqa: E402
from testkit.procfs import cpu_name  # noqa: E402

BATCH = 256
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def onnx_file(depth: int) -> bytes:
    import torch

    from core.trainer.export import cpu_copy, onnx_bytes
    from core.trainer.models import build_model

    torch.manual_seed(0)
    model = cpu_copy(build_model("resnet", depth, 10))
    return onnx_bytes(model, spec={"architecture": "resnet", "depth": depth}, classes=CLASSES)


def seed_job(url: str, depth: int, data: bytes) -> tuple[str, uuid.UUID]:
    """A succeeded job owning `data` as its ONNX artifact; returns (API key, job id)."""
    from core.store import jobs, keys, lifecycle
    from core.store.artifacts import ONNX, ArtifactFile, save_artifacts
    from core.store.db import session_scope

    with session_scope(url) as session:
        _, key = keys.create_key(session=session, owner_name="bench")
        owner = keys.get_or_create_owner(session=session, name="bench")
        session.commit()
        spec = {"architecture": "resnet", "depth": depth, "epochs": 1}
        job, _ = jobs.create_job(session=session, owner_id=owner.id, spec=spec, max_queued=10)
        claim = lifecycle.claim_job(
            session=session, job_id=job.id, worker="bench", max_running_per_owner=10
        )
        assert isinstance(claim, lifecycle.Claim)
        save_artifacts(
            session=session,
            job_id=job.id,
            lease_id=claim.lease_id,
            files={ONNX: ArtifactFile(data, info={"classes": CLASSES})},
        )
        lifecycle.finish_job(
            session=session,
            job_id=job.id,
            lease_id=claim.lease_id,
            weights=b"-",
            sha256=hashlib.sha256(b"-").hexdigest(),
            run_seconds=1.0,
            final_test_accuracy=None,
            final_test_loss=None,
            best_test_accuracy=None,
            best_epoch=None,
            results={"classes": CLASSES},
        )
        return key, job.id


@contextmanager
def api_server(url: str, folder: Path) -> Iterator[str]:
    port = free_port()
    env = {"DATABASE_URL": url, "BROKER_URL": f"filesystem://{folder}/broker"}
    # The port, not /healthz: the filesystem broker is no broker /healthz can reach.
    with uvicorn_server(port, env, ready=None, start_timeout=120, stop_timeout=30):
        yield f"http://{HOST}:{port}"


def pngs(images: np.ndarray) -> list[bytes]:
    from PIL import Image

    out = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def interleaved(calls: dict[str, Any], runs: int, warmup: int) -> dict[str, list[float]]:
    """Time each call `runs` times, round-robin, so that the machine's other load (it is shared)
    falls on every path alike."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            seconds[name].append(time.perf_counter() - started)
    return seconds


def bench_depth(depth: int, args: argparse.Namespace) -> dict[str, Any]:
    import httpx
    import onnxruntime

    from core.store.migrate import upgrade

    data = onnx_file(depth)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(BATCH, 32, 32, 3), dtype=np.uint8)
    files = pngs(images)
    arrays = json.dumps({"images": images.tolist()})
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])

    def direct(n: int) -> Any:
        batch = images[:n].transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)
        return lambda: session.run(["logits"], {"images": batch})

    results: dict[str, Any] = {"depth": depth}
    with tempfile.TemporaryDirectory(prefix="predict-bench-") as folder:
        url = f"sqlite:///{folder}/service.db"
        upgrade(url)
        key, job_id = seed_job(url, depth, data)
        with (
            api_server(url, Path(folder)) as base,
            httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120
            ) as http,
        ):
            path = f"/jobs/{job_id}/predict"

            def upload(n: int) -> Any:
                parts = [("images", (f"{i}.png", files[i], "image/png")) for i in range(n)]

                def call() -> None:
                    answer = http.post(path, files=parts)
                    assert answer.status_code == 200, answer.text

                return call

            def post_json() -> None:
                answer = http.post(
                    path, content=arrays, headers={"Content-Type": "application/json"}
                )
                assert answer.status_code == 200, answer.text

            single = {"direct_1": direct(1), "endpoint_1": upload(1)}
            results.update(interleaved(single, args.single, 10))
            batches = {
                "direct_256": direct(BATCH),
                "endpoint_256_png": upload(BATCH),
                "endpoint_256_json": post_json,
            }
            results.update(interleaved(batches, args.batches, 2))
    return results


def summary(results: dict[str, Any]) -> list[str]:
    def ms(values: list[float], q: float) -> str:
        return f"{1000 * float(np.percentile(values, q)):.1f}"

    def rate(values: list[float]) -> float:
        return BATCH / float(np.median(values))

    direct = rate(results["direct_256"])
    png = rate(results["endpoint_256_png"])
    arrays = rate(results["endpoint_256_json"])
    name = f"ResNet-{results['depth']}"
    return [
        f"| {name} | onnxruntime direct | {ms(results['direct_1'], 50)} | "
        f"{ms(results['direct_1'], 99)} | {direct:.0f} | 100 % |",
        f"| {name} | endpoint, PNG upload | {ms(results['endpoint_1'], 50)} | "
        f"{ms(results['endpoint_1'], 99)} | {png:.0f} | {100 * png / direct:.0f} % |",
        f"| {name} | endpoint, JSON arrays | | | {arrays:.0f} | {100 * arrays / direct:.0f} % |",
    ]


def machine() -> str:
    return f"{cpu_name()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few runs: a smoke test")
    parser.add_argument("--depths", type=int, nargs="+", default=[20, 110])
    args = parser.parse_args()
    args.single = 20 if args.quick else 200
    args.batches = 2 if args.quick else 10
    print(f"machine: {machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print("| network | path | 1 image p50 (ms) | p99 (ms) | batch of 256 (images/s) | vs direct |")
    print("| --- | --- | --- | --- | --- | --- |")
    for depth in args.depths:
        for line in summary(bench_depth(depth, args)):
            print(line, flush=True)


if __name__ == "__main__":
    main()
