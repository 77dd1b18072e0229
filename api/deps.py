"""What a route needs, as typed dependencies: the settings, a session, the queue, the owner.

`create_app(settings)` builds the collaborators once and keeps them on `app.state`; these read
them back, so a test passes its own Settings to `create_app` and nothing global changes.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Concatenate, ParamSpec, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Path, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.auth import FailureLimit, KeyCache
from api.errors import ApiError
from api.submission.job_queue import JobQueue
from core.settings import Settings
from core.store.tables import Owner
from core.vocabulary import ErrorCode

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Services:
    """Everything the app builds once from its settings."""

    settings: Settings
    sessions: sessionmaker[Session]
    queue: JobQueue
    keys: KeyCache
    failures: FailureLimit


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def get_settings_dep(request: Request) -> Settings:
    return services(request).settings


async def get_queue(request: Request) -> JobQueue:
    return services(request).queue


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for the request; its database work runs through `in_thread`."""
    session = services(request).sessions()
    try:
        yield session
    finally:
        if session.get_transaction() is None:
            session.close()  # holds no connection: no I/O
        else:
            # Something left a transaction open: close it off the event loop, with a limiter
            # of its own (as FastAPI's teardown of sync dependencies does).
            await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))


async def in_thread(
    session: Session, work: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """Run blocking database work in a request thread and end its transaction in that thread.

    So no request ever holds a pooled connection while it waits for a thread: with sync
    endpoints, FastAPI validates the response in another thread hop, and under load the
    requests holding the pool's connections would queue for threads that are all waiting for
    a connection (a deadlock until the pool's 30 s timeout).
    """

    def run() -> T:
        engine = session.get_bind()
        assert isinstance(engine, Engine)
        # One checkout (and pre-ping) for all the transactions of this unit of work: a POST
        # commits twice (the job, then its enqueued mark), and each checkout costs a ping.
        with engine.connect() as connection:
            session.bind = connection
            try:
                result = work(session, *args, **kwargs)
                session.commit()  # expire_on_commit=False: loaded objects stay usable
                return result
            except BaseException:
                session.rollback()
                raise
            finally:
                session.bind = engine

    return await run_in_threadpool(run)


def db_route(route: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """A route written as plain sync database work, served as an async endpoint that runs it
    through `in_thread` (see there for why: sync endpoints deadlock the pool under load).

    The route takes the request's session as its `session` parameter; FastAPI reads the
    parameters, annotations and docstring through `functools.wraps`.
    """
    if "session" not in inspect.signature(route).parameters:
        raise TypeError(f"{route.__name__}: a db_route takes the request's `session`")

    @functools.wraps(route)
    async def endpoint(*args: P.args, **kwargs: P.kwargs) -> T:
        session = kwargs["session"]
        assert isinstance(session, Session)
        return await in_thread(session, lambda _session: route(*args, **kwargs))

    return endpoint


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
QueueDep = Annotated[JobQueue, Depends(get_queue)]
JobId = Annotated[uuid.UUID, Path(description="the job's id, as POST /jobs returned it")]

UNAUTHORIZED = "a valid API key is required: send `Authorization: Bearer <key>`"
TOO_MANY_FAILURES = "too many failed authentications from your address; retry after Retry-After s"
# Declared in the OpenAPI document by api.openapi (not through fastapi.security.HTTPBearer, whose
# extra dependency cost about 4 % of GET /jobs/<id>'s time under load).
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "`Authorization: Bearer <key>`, a key from `python -m ops.keys create <owner>`",
}


async def authenticate(request: Request) -> Owner:
    """The owner of the request's `Authorization: Bearer <key>`; 401 for a missing, unknown or
    revoked key, 429 for an address with too many failures of late. A key seen in the last few
    seconds, known or unknown, costs no database query (api.auth)."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise ApiError(
            401, ErrorCode.unauthorized, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"}
        )
    found = services(request)
    owner = found.keys.cached(key)
    if owner is not None:
        return owner
    address = request.client.host if request.client is not None else "unknown"
    wait_s = found.failures.retry_after_s(address)
    if wait_s is not None:
        headers = {"Retry-After": str(wait_s)}
        raise ApiError(429, ErrorCode.too_many_failures, TOO_MANY_FAILURES, headers=headers)
    if not found.keys.known_unknown(key):
        owner = await run_in_threadpool(found.keys.look_up, found.sessions, key)
    if owner is None:
        found.failures.record(address)
        raise ApiError(
            401,
            ErrorCode.unauthorized,
            "the API key is unknown or revoked",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return owner


CurrentOwner = Annotated[Owner, Depends(authenticate)]
