"""api/routes/jobs.py holds the routes only; what they answer besides success is documented in
api/routes/job_docs.py, and the published schema still shows it."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.api.conftest import client_for, make_settings

ROUTES = Path(__file__).resolve().parents[2] / "api" / "routes" / "jobs.py"


def test_jobs_routes_module_declares_no_response_documentation() -> None:
    tree = ast.parse(ROUTES.read_text())
    assigned = [
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    ]
    assert assigned == ["router"], assigned  # JobId: api/deps.py, shared by the routes
    calls = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert "error_doc" not in calls
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "responses":
            assert isinstance(node.value, ast.Attribute), ast.unparse(node.value)
            assert ast.unparse(node.value.value) == "docs", ast.unparse(node.value)


def test_job_docs_reach_the_schema(tmp_path: Path) -> None:
    with client_for(make_settings(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/jobs"]["post"]["responses"]) >= {"200", "201", "401", "422", "429", "503"}
    assert set(paths["/jobs/{job_id}/weights"]["get"]["responses"]) >= {"304", "409", "410"}
    assert set(paths["/jobs/{job_id}/cancel"]["post"]["responses"]) >= {"200", "202", "409"}
    conflict = paths["/jobs/{job_id}/weights"]["get"]["responses"]["409"]
    example = conflict["content"]["application/json"]["example"]["error"]
    assert example["message"] == "job is running; weights are available once it has succeeded"
