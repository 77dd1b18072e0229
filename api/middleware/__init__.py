"""The middlewares: what wraps every route (body limits as the bytes arrive)."""
