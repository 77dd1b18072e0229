"""The FastAPI application: `uvicorn api.app:app`. Migrations are applied by `make run` or compose,
never here (`python -m core.store.migrate`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.auth import FailureLimit, KeyCache
from api.dashboard import install_dashboard
from api.deps import Services
from api.middleware.body_limit import BodyLimit, route_limits
from api.middleware.error_handlers import install_error_handlers
from api.middleware.nosniff import NoSniff
from api.openapi import limited_openapi
from api.prediction.onnx_models import ModelCache
from api.prediction.predict_gate import PredictGate
from api.prediction.predict_pool import PredictPool
from api.routes import (
    api_reference,
    datasets,
    estimate,
    events,
    health,
    jobs,
    predict,
    report,
    sweep_retry,
    sweeps,
)
from api.streaming import event_hub
from api.streaming.stream_slots import StreamSlots
from api.submission.job_queue import JobQueue
from core.messaging.owner_leases import owner_leases
from core.settings import Settings, get_settings
from core.store.db import get_sessionmaker

DESCRIPTION = """\
Train the CIFAR ResNets of He et al. 2016 (section 4.2): submit a job, follow it epoch by epoch,
download the weights.

Every request under `/jobs` carries `Authorization: Bearer <key>`
(`python -m ops.keys create <owner>` makes one). Errors share one shape:
`{"error": {"code", "message", "fields": [{"field", "in", "reason"}]}}`.
"""


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.predict_pool.close()  # its processes, if predictions started them
    app.state.predict_gate.leases.close()  # slots held here go back at once, not at expiry
    app.state.stream_slots.leases.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, built around its settings (the environment's when none are given)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="CIFAR ResNet training service",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=_lifespan,
        docs_url=None,  # served offline by api_reference (issue 18)
        redoc_url=None,
        openapi_tags=[
            {"name": "jobs", "description": "training jobs, their metrics and weights"},
            {"name": "health", "description": "liveness of the API's dependencies"},
            {"name": "datasets", "description": "your own data sets: upload, check, train on"},
        ],
    )
    app.state.services = Services(
        settings=settings,
        sessions=get_sessionmaker(settings.database_url),
        queue=JobQueue(settings),
        keys=KeyCache(negative_ttl_s=settings.auth_negative_cache_s),
        failures=FailureLimit(settings.auth_max_failures, settings.auth_failure_window_s),
    )
    install_error_handlers(app)
    app.add_middleware(
        BodyLimit, default_bytes=settings.max_body_bytes, routes=route_limits(settings)
    )
    app.add_middleware(NoSniff)  # outermost: the body limit's own 413s carry it too
    # Before jobs.router: POST /jobs/estimate is not a job id.
    app.include_router(estimate.router)
    app.include_router(jobs.router)
    app.include_router(report.router)
    app.include_router(predict.router)  # ONNX sessions cached in app.state (issue 11)
    app.state.predict_models = ModelCache(settings.predict_cache_bytes)
    # Per-owner caps across API processes (issue 17): Redis leases with a Redis broker.
    app.state.predict_gate = PredictGate(
        owner_leases(settings, "predict", settings.predict_max_concurrent)
    )
    app.state.stream_slots = StreamSlots(
        settings.max_streams_per_owner,
        owner_leases(settings, "streams", settings.max_streams_per_owner),
    )
    app.state.predict_pool = PredictPool(
        processes=settings.predict_processes,
        cache_bytes=settings.predict_cache_bytes,
        threads=settings.predict_threads,
    )
    app.include_router(health.router)
    app.include_router(events.router)  # event log, SSE streams, webhook deliveries (issue 8)
    app.include_router(sweeps.router)  # grids, presets, reports and figures (issue 10)
    app.include_router(datasets.router)  # users' own data sets (issue 19)
    app.include_router(sweep_retry.router)  # new attempts of failed points (issue 20)
    event_hub.install(settings, app.state.services.queue)
    api_reference.install_api_reference(app)  # /docs and /redoc, no CDN
    install_dashboard(app)  # the web page at /, a client of the routes above
    app.openapi = lambda: limited_openapi(app, settings)  # type: ignore[method-assign]
    return app


app = create_app()
