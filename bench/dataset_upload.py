"""Uploading and processing a CIFAR-10-sized data set (issue 19): 60,000 images in the
published python archive layout (`cifar-10-python.tar.gz`, made here by testkit).

    .venv/bin/python bench/dataset_upload.py            # 5,000 + 1,000 images per class
    .venv/bin/python bench/dataset_upload.py --quick    # a smoke run, 100 + 20 per class

Measures, on the real stack (bench/harness.py: PostgreSQL, Redis, the API under uvicorn) with a
worker of the `datasets` queue:
1. the API's memory during the upload: its resident set sampled every 10 ms, growth over its
   resident set before (goal: under 50 MB);
2. the time from the first byte sent to the data set answering `ready` (GET polled every 0.1 s),
   and the upload alone;
3. throughput against a plain `tar -xzf` of the same file plus a NumPy load of its batches
   (pickle.load, concatenate), and core.datasets' own processing of the file in this process
   (checks, conversion, fingerprint, canonical file), so the service's overhead shows apart.
"""

from __future__ import annotations

import argparse
import pickle
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import stack  # noqa: E402


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class PeakRss:
    """Samples a process's resident set every `every_s` in a thread; `peak` in KiB."""

    def __init__(self, pid: int, every_s: float = 0.01) -> None:
        self.pid, self.every_s, self.peak = pid, every_s, rss_kib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(self.every_s)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def plain_load(archive: Path) -> tuple[float, int]:
    """`tar -xzf` then pickle.load + concatenate of the six batches: seconds, images."""
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        subprocess.run(["tar", "-xzf", str(archive), "-C", folder], check=True)
        base = Path(folder) / "cifar-10-batches-py"
        arrays = []
        for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
            with (base / name).open("rb") as f:
                arrays.append(pickle.load(f, encoding="bytes")[b"data"])
        images = np.concatenate(arrays).reshape(-1, 3, 32, 32)
        return time.perf_counter() - started, int(images.shape[0])


def own_processing(archive: Path) -> float:
    from core.datasets.canonical import fingerprint, save
    from core.datasets.process import process_upload

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        data = process_upload(archive)
        fingerprint(data)
        save(data, Path(folder) / "canonical.npz")
        return time.perf_counter() - started


def through_the_service(archive: Path) -> dict[str, Any]:
    from core.messaging.dataset_queue import DATASET_WORKER_ARGS
    from testkit.processes import VENV_BIN
    from testkit.starters import service_env, wait_worker_ready

    with stack(
        "crs-bench-datasets-", {}, train_per_class=1, test_per_class=1, http_timeout=600
    ) as s:
        api = next(p for p in s.processes.started if p.name == "api")
        argv = [
            str(VENV_BIN / "celery"),
            *DATASET_WORKER_ARGS,
            "-n",
            "datasets@%h",
            "--loglevel=INFO",
        ]
        env = {**s.env, "DATASET_CACHE_DIR": str(s.root / "cache")}
        wait_worker_ready(s.processes.start("datasets", argv, env=service_env(env)))
        s.http.get("/datasets")  # the route's first call (imports, a connection) is not counted
        before = rss_kib(api.pid)
        size = archive.stat().st_size

        def chunks() -> Any:
            with archive.open("rb") as source:
                while chunk := source.read(1 << 20):
                    yield chunk

        started = time.perf_counter()
        with PeakRss(api.pid) as peak:
            answer = s.http.post(
                "/datasets",
                params={"name": "cifar10-sized", "filename": archive.name},
                content=chunks(),
                headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
            )
            uploaded = time.perf_counter() - started
            assert answer.status_code == 202, answer.text
            dataset_id = answer.json()["id"]
            while True:
                shown = s.http.get(f"/datasets/{dataset_id}").json()
                if shown["status"] != "processing":
                    break
                time.sleep(0.1)
        ready = time.perf_counter() - started
        assert shown["status"] == "ready", shown
        return {
            "rss_before_mib": before / 1024,
            "rss_growth_mib": (peak.peak - before) / 1024,
            "upload_s": uploaded,
            "ready_s": ready,
            "images": shown["train_images"] + shown["test_images"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 + 20 images per class")
    args = parser.parse_args()
    train, test = (100, 20) if args.quick else (5000, 1000)
    from testkit.dataset_files import cifar_archive

    with tempfile.TemporaryDirectory() as folder:
        archive = cifar_archive(
            Path(folder) / "cifar-10-python.tar.gz", train_per_class=train, test_per_class=test
        )
        size_mib = archive.stat().st_size / (1 << 20)
        plain_s, images = plain_load(archive)
        own_s = own_processing(archive)
        service = through_the_service(archive)
    assert service["images"] == images
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    print(f"archive: {images} images, {size_mib:.1f} MiB (cifar-10-python.tar.gz layout)")
    rows = [
        ("tar -xzf + NumPy load (pickle, concatenate)", plain_s),
        ("core.datasets in one process (checks, convert, fingerprint, .npz)", own_s),
        ("service: upload only (POST /datasets answered 202)", service["upload_s"]),
        ("service: first byte sent to GET answering `ready`", service["ready_s"]),
    ]
    print("| step | seconds | images/s | MiB/s of the archive |")
    print("| --- | --- | --- | --- |")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.2f} | {images / seconds:,.0f} | {size_mib / seconds:.1f} |")
    print(
        f"API resident set: {service['rss_before_mib']:.1f} MiB before, peak growth during the "
        f"upload and processing {service['rss_growth_mib']:.1f} MiB (goal: under 50 MB)"
    )


if __name__ == "__main__":
    main()
