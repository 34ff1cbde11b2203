"""GET /api/docs and /api/openapi.json — the OpenAPI description of every function."""

from __future__ import annotations

from mangum import Mangum

from lib.local import combined_app

app = combined_app()
lambda_handler = Mangum(app, lifespan="off")
