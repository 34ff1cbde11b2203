"""GET /api/docs — Swagger UI for every function; the schema at /api/docs?format=openapi."""

from __future__ import annotations

from mangum import Mangum

from lib.web import create_app, docs_router

router = docs_router()
app = create_app(router, title="GET /api/docs")
lambda_handler = Mangum(app, lifespan="off")
