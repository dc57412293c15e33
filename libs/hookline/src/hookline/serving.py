"""Running a service's ASGI app under uvicorn (with uvloop where installed), and its command line."""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn

from hookline.logs import configure_logging
from hookline.settings import Settings, load_settings


def parse_args(prog: str, default_port: int, argv: list[str] | None = None) -> tuple[str, int]:
    """`--host` (127.0.0.1; 0.0.0.0 in containers) and `--port` of a service's command line."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--port", type=int, default=default_port, help=f"HTTP port (default {default_port})")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (0.0.0.0 in containers)")
    args = parser.parse_args(argv)
    return str(args.host), int(args.port)


def serve(app: Any, *, port: int, settings: Settings | None = None, host: str = "127.0.0.1") -> None:
    settings = settings or load_settings()
    configure_logging(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="auto",
        http="auto",
        lifespan="on",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=20,
    )
    uvicorn.Server(config).run()
