"""/healthz: can this API process reach its database and its broker? No key needed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from api.deps import Services, services

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 2.0
State = Literal["ok", "unavailable"]


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"database": "ok", "broker": "ok"}]})

    database: State
    broker: State


def _database(found: Services) -> None:
    with found.sessions() as session:
        session.execute(text("SELECT 1"))


def _broker(found: Services) -> None:
    found.queue.ping()


async def _check(name: str, found: Services, probe: Callable[[Services], None]) -> State:
    try:
        # A thread and a deadline: a host that drops packets must not hold the answer.
        await asyncio.wait_for(run_in_threadpool(probe, found), CHECK_TIMEOUT_S)
    except Exception as error:  # any failure to answer is "unavailable"
        log.warning("health check: %s unavailable: %r", name, error)
        return "unavailable"
    return "ok"


@router.get(
    "/healthz",
    summary="Health of the API's dependencies",
    response_model=Health,
    responses={
        503: {
            "model": Health,
            "description": "the database or the broker does not answer",
            "content": {
                "application/json": {"example": {"database": "ok", "broker": "unavailable"}}
            },
        }
    },
)
async def healthz(request: Request, response: Response) -> Health:
    """Whether the API reaches its database and its broker (within 2 s each)."""
    found = services(request)
    database, broker = await asyncio.gather(
        _check("database", found, _database), _check("broker", found, _broker)
    )
    if "unavailable" in (database, broker):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(database=database, broker=broker)
