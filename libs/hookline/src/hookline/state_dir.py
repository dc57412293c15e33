"""Where local runtime state lives: `.hookline/` (pids, logs, data, the generated master key)."""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR_NAME = ".hookline"


def state_dir() -> Path:
    """`HOOKLINE_STATE_DIR`, else the nearest `.hookline/` above the working directory, else `./.hookline`.

    Searching upwards lets every `hookline` command, run from anywhere inside the checkout, find the
    master key that `make up` generated at the top.
    """
    configured = os.environ.get("HOOKLINE_STATE_DIR")
    if configured:
        return Path(configured).resolve()
    cwd = Path.cwd().resolve()
    for folder in (cwd, *cwd.parents):
        if (folder / STATE_DIR_NAME).is_dir():
            return folder / STATE_DIR_NAME
    return cwd / STATE_DIR_NAME


def cache_dir() -> Path:
    """Downloads (Kafka jars, the FerretDB build) outlive a checkout, so a second clone starts in seconds."""
    configured = os.environ.get("HOOKLINE_CACHE_DIR")
    if configured:
        return Path(configured).resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hookline"
