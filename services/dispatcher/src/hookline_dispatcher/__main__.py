"""`python -m hookline_dispatcher [--port N]`: runs the dispatcher service in the foreground."""

from __future__ import annotations

from hookline.serving import parse_args, serve
from hookline.settings import load_settings
from hookline_dispatcher.app import create_app

DEFAULT_PORT = 8003


def main(argv: list[str] | None = None) -> None:
    host, port = parse_args("hookline run dispatcher", DEFAULT_PORT, argv)
    settings = load_settings()
    serve(create_app(settings), host=host, port=port, settings=settings)


if __name__ == "__main__":
    main()
