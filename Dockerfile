# syntax=docker/dockerfile:1
#
# Hookline images, one target per service plus the CLI:
#
#   docker build --target subscription-api -t hookline/subscription-api .
#   docker build --target event-ingest     -t hookline/event-ingest .
#   docker build --target fan-out          -t hookline/fan-out .
#   docker build --target dispatcher       -t hookline/dispatcher .
#   docker build --target cli              -t hookline/cli .
#
# `docker compose build` (compose.yaml) builds all of them. Each image holds only its own workspace
# package and the shared `hookline` library, installed (not editable) into /app/.venv; no uv, no sources.

# Builder and runtime must share one interpreter path (/usr/local/bin/python3.11): the venv links to it.
ARG PYTHON_IMAGE=python:3.11-slim
# Keep in step with the uv that writes uv.lock (`uv --version`), so the lockfile format is understood.
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# ---------------------------------------------------------------------------------------------------
# builder: the lockfile and every workspace member's pyproject.toml, nothing else. uv needs all member
# manifests to read the workspace even when it installs one package; sources come later, per target, so
# editing code never invalidates the dependency layers.
# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /uvx /bin/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=0 \
    UV_PYTHON=python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
COPY uv.lock pyproject.toml ./
COPY libs/hookline/pyproject.toml libs/hookline/
COPY libs/hookline-cli/pyproject.toml libs/hookline-cli/
COPY services/subscription-api/pyproject.toml services/subscription-api/
COPY services/event-ingest/pyproject.toml services/event-ingest/
COPY services/fan-out/pyproject.toml services/fan-out/
COPY services/dispatcher/pyproject.toml services/dispatcher/

# One builder per target. Step 1 installs the package's locked third-party dependencies only
# (--no-install-workspace); step 2 adds the shared library's and the package's own sources and
# installs them as wheels (--no-editable), so the runtime stage needs nothing but /app/.venv.

FROM builder AS build-subscription-api
ARG PACKAGE=hookline-subscription-api
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package "$PACKAGE"
COPY libs/hookline/src libs/hookline/src
COPY services/subscription-api/src services/subscription-api/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "$PACKAGE"

FROM builder AS build-event-ingest
ARG PACKAGE=hookline-event-ingest
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package "$PACKAGE"
COPY libs/hookline/src libs/hookline/src
COPY services/event-ingest/src services/event-ingest/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "$PACKAGE"

FROM builder AS build-fan-out
ARG PACKAGE=hookline-fan-out
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package "$PACKAGE"
COPY libs/hookline/src libs/hookline/src
COPY services/fan-out/src services/fan-out/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "$PACKAGE"

FROM builder AS build-dispatcher
ARG PACKAGE=hookline-dispatcher
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package "$PACKAGE"
COPY libs/hookline/src libs/hookline/src
COPY services/dispatcher/src services/dispatcher/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "$PACKAGE"

FROM builder AS build-cli
ARG PACKAGE=hookline-cli
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package "$PACKAGE"
COPY libs/hookline/src libs/hookline/src
COPY libs/hookline-cli/src libs/hookline-cli/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "$PACKAGE"

# ---------------------------------------------------------------------------------------------------
# runtime: the same slim Python, no uv, no compilers; an unprivileged user; the venv first on PATH.
# The venv stays owned by root, so the service cannot modify its own code.
# ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 hookline \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin hookline
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER 10001:10001
STOPSIGNAL SIGTERM
# Liveness: the process serves HTTP. SERVICE_PORT is set by each service target below
# (compose.yaml overrides this with a /readyz check).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('SERVICE_PORT', '8000'), timeout=3)"]

# ---------------------------------------------------------------------------------------------------
# Service targets. `--host 0.0.0.0` makes uvicorn reachable from outside the container.
# ---------------------------------------------------------------------------------------------------
FROM runtime AS subscription-api
COPY --from=build-subscription-api /app/.venv /app/.venv
ENV SERVICE_PORT=8000
EXPOSE 8000
CMD ["python", "-m", "hookline_api", "--host", "0.0.0.0", "--port", "8000"]

FROM runtime AS event-ingest
COPY --from=build-event-ingest /app/.venv /app/.venv
ENV SERVICE_PORT=8001
EXPOSE 8001
CMD ["python", "-m", "hookline_ingest", "--host", "0.0.0.0", "--port", "8001"]

FROM runtime AS fan-out
COPY --from=build-fan-out /app/.venv /app/.venv
ENV SERVICE_PORT=8002
EXPOSE 8002
CMD ["python", "-m", "hookline_fanout", "--host", "0.0.0.0", "--port", "8002"]

FROM runtime AS dispatcher
COPY --from=build-dispatcher /app/.venv /app/.venv
ENV SERVICE_PORT=8003
EXPOSE 8003
CMD ["python", "-m", "hookline_dispatcher", "--host", "0.0.0.0", "--port", "8003"]

# The `hookline` command (org create, api-key create, events publish, ...). It holds the shared library
# but no service, so `hookline run` and `hookline infra` are not meant for this image. Last stage, so it
# is also what a plain `docker build .` produces.
FROM runtime AS cli
COPY --from=build-cli /app/.venv /app/.venv
HEALTHCHECK NONE
ENTRYPOINT ["hookline"]
CMD ["--help"]
