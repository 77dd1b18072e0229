"""The published schema, with this deployment's request bounds written into it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.deps import BEARER_SCHEME
from core.settings import Settings


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
        for path, operations in schema["paths"].items():
            if path.startswith("/jobs"):
                for operation in operations.values():
                    operation["security"] = [{"bearer": []}]
        app.openapi_schema = schema
    return app.openapi_schema
