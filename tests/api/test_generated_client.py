"""A client generated from /openapi.json by a common generator (openapi-python-client) works
with types against a started API (issue 18): it submits a job, polls it, reads the evaluation
report as a model, submits a sweep and reads its report's rows as models; every operation is
generated (the figure as binary content), with no generator warning.

The generator runs offline on the schema the running API serves, in tmp_path. Its one setting:
image/png and image/svg+xml read as binary (`content_type_overrides`, the generator's documented
switch for media types it does not know)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from testkit.processes import VENV_BIN, Processes
from testkit.starters import start_api
from tests.api.conftest import new_key
from tests.api.exported import succeed_with_exports
from tests.api.sweep_runs import finish

GENERATOR = VENV_BIN / "openapi-python-client"
CONFIG = {
    "content_type_overrides": {
        "image/png": "application/octet-stream",
        "image/svg+xml": "application/octet-stream",
    }
}


@pytest.fixture
def started(database_url: str, tmp_path: Path) -> Iterator[str]:
    processes = Processes(tmp_path / "logs")
    env = {"DATABASE_URL": database_url, "BROKER_URL": f"filesystem://{tmp_path / 'broker'}"}
    try:
        _, url = start_api(processes, env)
        yield url
    finally:
        processes.stop_all()


def generate(url: str, where: Path) -> tuple[Any, str]:
    """The generated package (imported) and the generator's output."""
    schema = where / "openapi.json"
    schema.write_text(httpx.get(f"{url}/openapi.json", timeout=30).text)
    config = where / "generator.json"
    config.write_text(json.dumps(CONFIG))
    package = f"crs_generated_{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    argv = [
        str(GENERATOR),
        "generate",
        "--path",
        str(schema),
        "--meta",
        "none",
        "--config",
        str(config),
        "--output-path",
        str(where / package),
    ]
    done = subprocess.run(
        argv,
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module(package), output
    finally:
        sys.path.remove(str(where))


@pytest.fixture
def client_package(started: str, tmp_path: Path) -> Any:
    """The client generated from the started API's schema; the generator printed no warning."""
    if not GENERATOR.is_file():
        pytest.fail("openapi-python-client is missing: pip install -e '.[dev]'")
    package, output = generate(started, tmp_path)
    assert "WARNING" not in output and "Cannot parse" not in output, output
    return package


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_generated_client_submits_polls_and_reads_the_report_typed(
    started: str, database_url: str, client_package: Any
) -> None:
    name = client_package.__name__
    models = importlib.import_module(f"{name}.models")
    create = importlib.import_module(f"{name}.api.jobs.create_jobs_post")
    read = importlib.import_module(f"{name}.api.jobs.read_jobs_job_id_get")
    report = importlib.import_module(f"{name}.api.jobs.report_jobs_job_id_report_get")
    figure = importlib.import_module(f"{name}.api.sweeps.figure_sweeps_sweep_id_figure_get")
    predict_body = models.PredictJobsJobIdPredictPostJsonBody
    assert "list[list[list[list[int]]]]" in str(predict_body.__annotations__["images"])
    assert "File" in str(figure.sync.__annotations__["return"])

    client = client_package.AuthenticatedClient(base_url=started, token=new_key(database_url))
    with client as api:
        request = models.JobRequest(
            architecture=models.JobRequestArchitecture.RESNET, depth=8, epochs=2
        )
        job = create.sync(client=api, body=request)
        assert isinstance(job, models.JobView), job
        assert job.status == models.JobStatus.QUEUED
        succeed_with_exports(database_url, job.id)  # as the worker stores a run (no GPU here)
        deadline = time.monotonic() + 30
        while (seen := read.sync(job.id, client=api)).status != models.JobStatus.SUCCEEDED:
            assert time.monotonic() < deadline, seen
            time.sleep(0.1)
        evaluation = report.sync(job.id, client=api)
    assert isinstance(evaluation, models.EvaluationReport), evaluation
    assert evaluation.job_id == job.id and evaluation.images == 100
    assert 0.0 <= evaluation.top1_error <= 1.0
    assert isinstance(evaluation.reliability[0], models.ReliabilityBin)
    assert isinstance(evaluation.confident_mistakes[0].predicted, str)
    assert len(evaluation.confusion_matrix) == 10


def read_sweep_report(package: Any, api: Any, database_url: str) -> Any:
    """A sweep submitted and one child finished; its report as the generated client reads it."""
    name = package.__name__
    models = importlib.import_module(f"{name}.models")
    create = importlib.import_module(f"{name}.api.sweeps.create_sweeps_post")
    report = importlib.import_module(f"{name}.api.sweeps.report_sweeps_sweep_id_report_get")
    body = {"base": {"architecture": "resnet", "epochs": 2}, "grid": {"depth": [8, 20]}}
    sweep = create.sync(client=api, body=models.SweepRequest.from_dict(body))
    assert isinstance(sweep, models.SweepView), sweep
    finish(database_url, sweep.children[1].id, test=[0.80, 0.90])  # depth 20: 10 % error
    return report.sync(sweep.id, client=api), models


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_generated_client_reads_a_sweep_report_typed(
    started: str, database_url: str, client_package: Any
) -> None:
    client = client_package.AuthenticatedClient(base_url=started, token=new_key(database_url))
    with client as api:
        report, models = read_sweep_report(client_package, api, database_url)
    assert isinstance(report, models.SweepReport), report
    assert report.definitions["unit"] == "fraction"
    waiting, done = report.rows
    assert isinstance(done, models.SweepReportRow) and done.depth == 20
    assert isinstance(done.final_error, models.ErrorSpread)
    assert done.final_error.mean == pytest.approx(0.10) and done.final_error.n == 1
    assert isinstance(done.reference, models.PublishedReference)
    assert done.reference.error == pytest.approx(0.0875)  # the paper's 8.75 %, as a fraction
    assert isinstance(done.curves, models.ReportCurves) and done.curves.epoch == [1, 2]
    assert waiting.final_error is None and waiting.runs_finished == 0
    chosen = report.selection.on_test_set
    assert isinstance(chosen, models.SelectedConfiguration) and chosen.candidates == 1
