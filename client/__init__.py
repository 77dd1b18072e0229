"""A client for the CIFAR ResNet training service: a typed Python API and the `crs` CLI.

Pure HTTP (httpx, httpx-sse, rich): no torch, and nothing from the service's own packages, so it
installs and runs anywhere a person or a program wants to submit and watch jobs.

    from client import Client

    with Client("http://127.0.0.1:8000", key) as crs:
        job = crs.submit(architecture="resnet", depth=56, epochs=164)
        job = job.wait(progress=True)
        job.download("resnet56.pt")
"""

from client.api import Client
from client.api_types import EpochRecord, Event, EventPage
from client.errors import (
    ApiError,
    BadRequest,
    ChecksumMismatch,
    Conflict,
    ConnectionFailed,
    CrsError,
    FieldProblem,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
)
from client.job import Job

__all__ = [
    "ApiError",
    "BadRequest",
    "ChecksumMismatch",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "CrsError",
    "EpochRecord",
    "Event",
    "EventPage",
    "FieldProblem",
    "Job",
    "NotFound",
    "RateLimited",
    "ServerError",
    "Unauthorized",
]
