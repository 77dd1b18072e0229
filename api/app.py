"""The FastAPI application: `uvicorn api.app:app`. Migrations are applied by `make run` or compose,
never here (`python -m core.store.migrate`).
"""

from __future__ import annotations

from fastapi import FastAPI

from api.auth import KeyCache
from api.deps import Services
from api.errors import BodySizeLimit, install_error_handlers
from api.openapi import limited_openapi
from api.queue import JobQueue
from api.routes import health, jobs
from core.settings import Settings, get_settings
from core.store.db import get_sessionmaker

DESCRIPTION = """\
Train the CIFAR ResNets of He et al. 2016 (section 4.2): submit a job, follow it epoch by epoch,
download the weights.

Every request under `/jobs` carries `Authorization: Bearer <key>`
(`python -m api.keys create <owner>` makes one). Errors share one shape:
`{"error": {"code", "message", "fields": [{"field", "in", "reason"}]}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, built around its settings (the environment's when none are given)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="CIFAR ResNet training service",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_tags=[
            {"name": "jobs", "description": "training jobs, their metrics and weights"},
            {"name": "health", "description": "liveness of the API's dependencies"},
        ],
    )
    app.state.services = Services(
        settings=settings,
        sessions=get_sessionmaker(settings.database_url),
        queue=JobQueue(settings),
        keys=KeyCache(),
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit)
    app.include_router(jobs.router)
    app.include_router(health.router)
    app.openapi = lambda: limited_openapi(app, settings)  # type: ignore[method-assign]
    return app


app = create_app()
