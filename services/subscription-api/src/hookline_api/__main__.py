"""`python -m hookline_api [--port N]`: runs the subscription-api service in the foreground."""

from __future__ import annotations

from hookline.serving import parse_args, serve
from hookline.settings import load_settings
from hookline_api.app import create_app

DEFAULT_PORT = 8000


def main(argv: list[str] | None = None) -> None:
    host, port = parse_args("hookline run subscription-api", DEFAULT_PORT, argv)
    settings = load_settings()
    serve(create_app(settings), host=host, port=port, settings=settings)


if __name__ == "__main__":
    main()
