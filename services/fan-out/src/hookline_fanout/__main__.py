"""`python -m hookline_fanout [--port N]`: runs the fan-out service in the foreground."""

from __future__ import annotations

from hookline.serving import parse_args, serve
from hookline.settings import load_settings
from hookline_fanout.app import create_app

DEFAULT_PORT = 8002


def main(argv: list[str] | None = None) -> None:
    host, port = parse_args("hookline run fan-out", DEFAULT_PORT, argv)
    settings = load_settings()
    serve(create_app(settings), host=host, port=port, settings=settings)


if __name__ == "__main__":
    main()
