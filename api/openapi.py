"""The published schema, with this deployment's request bounds written into it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.deps import BEARER_SCHEME
from core.settings import Settings
from core.vocabulary import FINAL_STATUSES, JobStatus

# Where a created job's answer leads (OpenAPI links, from POST /jobs's 201 and 200), so that
# generic clients and API fuzzers can follow them: name -> (method, path) of the operation.
CREATED_JOB_LINKS = {
    "read": ("get", "/jobs/{job_id}", "the job: status, progress, metrics, results"),
    "metrics": ("get", "/jobs/{job_id}/metrics", "its per-epoch metrics"),
    "weights": ("get", "/jobs/{job_id}/weights", "its trained weights, once it has succeeded"),
    "cancel": ("post", "/jobs/{job_id}/cancel", "cancel it"),
}


def limited_openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """FastAPI's schema, plus the maxima that `check_limits` enforces from the settings."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        fields = schema["components"]["schemas"]["JobRequest"]["properties"]
        fields["depth"]["maximum"] = settings.max_depth
        fields["epochs"]["maximum"] = settings.max_epochs
        fields["batch_size"]["minimum"] = settings.min_batch_size
        fields["batch_size"]["maximum"] = settings.max_batch_size
        fields["epochs"]["description"] += (
            f"; epochs x trainable parameters may not exceed {settings.max_cost:.3g} "
            "(164 epochs of ResNet-1202 are about 3.2e9)"
        )
        schema["components"]["securitySchemes"] = {"bearer": BEARER_SCHEME}
        _link_created_job(schema)
        # Which statuses are final, for clients that read the words from the schema (the
        # dashboard): an enum alone cannot say it.
        statuses = schema["components"]["schemas"]["JobStatus"]
        statuses["x-final"] = [status.value for status in JobStatus if status in FINAL_STATUSES]
        for path, operations in schema["paths"].items():
            if path not in PUBLIC_PATHS:
                for operation in operations.values():
                    operation["security"] = [{"bearer": []}]
        app.openapi_schema = schema
    return app.openapi_schema


# Paths that answer without a key; every other operation needs one.
PUBLIC_PATHS = ("/healthz", "/sweeps/presets")


def _link_created_job(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    links = {
        name: {
            "operationId": paths[path][method]["operationId"],
            "parameters": {"job_id": "$response.body#/id"},
            "description": description,
        }
        for name, (method, path, description) in CREATED_JOB_LINKS.items()
    }
    for status in ("201", "200"):
        paths["/jobs"]["post"]["responses"][status]["links"] = links
