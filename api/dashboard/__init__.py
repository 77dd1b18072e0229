"""The web dashboard (issue 9): static files served by the API itself, no build step.

`/` answers the page; `/dashboard/...` its scripts, styles and the vendored uPlot. The page is
a client of the public API like any other: it sends the owner's key as a bearer token and has
no route of its own besides these files.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/dashboard"

# Everything from this origin, nothing from anywhere else: a CDN link or an injected script from
# another host fails loudly. Inline styles are allowed because uPlot sizes its elements with them.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> FileResponse:
    """The dashboard's page; the key never reaches this route (it lives in sessionStorage)."""
    return FileResponse(
        STATIC / "index.html",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-cache",
            "Referrer-Policy": "no-referrer",
        },
    )


def install_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at `/` and its files under /dashboard (the API's routes stay as they
    are; /docs included)."""
    app.include_router(router)
    app.mount(PREFIX, StaticFiles(directory=STATIC), name="dashboard")
