"""What a route needs, as typed dependencies: the settings, a session, the queue, the owner.

`create_app(settings)` builds the collaborators once and keeps them on `app.state`; these read
them back, so a test passes its own Settings to `create_app` and nothing global changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.auth import KeyCache
from api.errors import ApiError
from api.queue import JobQueue
from core.settings import Settings
from core.store.tables import Owner


@dataclass(frozen=True)
class Services:
    """Everything the app builds once from its settings."""

    settings: Settings
    sessions: sessionmaker[Session]
    queue: JobQueue
    keys: KeyCache


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def get_settings_dep(request: Request) -> Settings:
    return services(request).settings


async def get_queue(request: Request) -> JobQueue:
    return services(request).queue


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for the request. Creating one does no I/O, so this runs on the event loop;
    closing it may (a rollback), so that runs in a thread of its own, outside the pool of
    request threads: a request holding a connection never waits for one of those threads."""
    session = services(request).sessions()
    try:
        yield session
    finally:
        # A limiter of its own (as FastAPI's own teardown of sync dependencies does).
        await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
QueueDep = Annotated[JobQueue, Depends(get_queue)]

bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <key>`, a key from `python -m api.keys create <owner>`",
)
UNAUTHORIZED = "a valid API key is required: send `Authorization: Bearer <key>`"


async def authenticate(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Owner:
    """The owner of the request's key; 401 for a missing, unknown or revoked key."""
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "unauthorized", UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    keys = services(request).keys
    key = credentials.credentials
    owner = keys.cached(key)
    if owner is None:
        owner = await run_in_threadpool(lambda: keys.look_up(session=session, key=key))
    if owner is None:
        raise ApiError(
            401,
            "unauthorized",
            "the API key is unknown or revoked",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return owner


CurrentOwner = Annotated[Owner, Depends(authenticate)]
