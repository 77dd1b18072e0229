"""The middlewares and handlers that wrap every route: body limits as the bytes arrive, and the
exception handlers that give every error one shape."""
