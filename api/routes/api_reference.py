"""The API reference at /docs (Swagger UI) and /redoc (ReDoc), served with no network (issue 18).

FastAPI's own pages load both from a CDN, so offline they are blank. The scripts and styles come
from the `fastapi-offline` package (pinned in pyproject.toml; it ships Swagger UI and ReDoc's
standalone build), served under /reference-assets. Each page has a content security policy that
allows this origin only, plus the one inline script Swagger UI's page starts itself with (by its
hash, so no other inline script runs).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/reference-assets"
OPENAPI_URL = "/openapi.json"
TITLE = "CIFAR ResNet training service"

router = APIRouter(include_in_schema=False)

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def content_security_policy(html: str) -> str:
    """This origin only; inline scripts by hash. Both UIs set inline styles (React's style
    attributes, ReDoc's styled-components) and ReDoc searches in a blob: worker."""
    scripts = ["'self'"] + [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]
    return (
        f"default-src 'none'; script-src {' '.join(scripts)}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
        "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _page(response: HTMLResponse) -> HTMLResponse:
    html = bytes(response.body).decode()
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": content_security_policy(html),
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    """The interactive reference (Swagger UI)."""
    return _page(
        get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title=f"{TITLE} - Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )
    )


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    """The reading reference (ReDoc)."""
    return _page(
        get_redoc_html(
            openapi_url=OPENAPI_URL,
            title=f"{TITLE} - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
    )


def install_api_reference(app: FastAPI) -> None:
    """/docs, /redoc and their assets; the app is built with docs_url=None, redoc_url=None."""
    app.include_router(router)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="reference-assets")
