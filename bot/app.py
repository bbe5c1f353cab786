"""The ASGI application `zhibu serve` runs: health check now, platform callbacks later."""

from __future__ import annotations

import logging

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.runtime import Runtime

log = logging.getLogger(__name__)


def create_app(runtime: Runtime) -> Starlette:
    """Build the ASGI app around a wired runtime."""

    def _database_ok() -> bool:
        try:
            with runtime.db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            log.exception("health check: database unreachable")
            return False
        return True

    async def healthz(_request: Request) -> JSONResponse:
        ok = await run_in_threadpool(_database_ok)
        body = {"status": "ok" if ok else "degraded", "database": "ok" if ok else "error"}
        return JSONResponse(body, status_code=200 if ok else 503)

    app = Starlette(routes=[Route("/healthz", healthz, methods=["GET"])])
    app.state.runtime = runtime
    return app
