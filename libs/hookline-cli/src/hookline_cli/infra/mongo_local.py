"""The MongoDB-wire server: `mongod` where one is on PATH, else FerretDB v1 on SQLite, built from Go modules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hookline.state_dir import cache_dir
from hookline_cli.infra.processes import Layout, port_open, read_pid, spawn, stop, wait_until

FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = os.environ.get("HOOKLINE_FERRETDB_VERSION", "v1.24.2")
NAME = "mongo"


# Bumped whenever the patches below change, so a cached binary built without them is not reused.
PATCH_LEVEL = "hl1"
# FerretDB v1's SQLite backend looks documents up by `_id` with the expression `->'$._id'`, while its `_id`
# index is on `->"_id"`; SQLite uses an index only for the identical expression, so every lookup, update and
# delete by `_id` scanned the whole table (0.7 ms for the first of 20,000 documents, 186 ms for the last).
ID_COLUMN_ORIGINAL = "IDColumn = DefaultColumn + \"->'$._id'\""
ID_COLUMN_PATCHED = 'IDColumn = DefaultColumn + `->"_id"`'


def ferretdb_binary(version: str = FERRETDB_VERSION) -> Path:
    return cache_dir() / f"ferretdb-{version}-{PATCH_LEVEL}" / "ferretdb"


def patch_id_lookups(src: Path) -> None:
    metadata = src / "internal" / "backends" / "sqlite" / "metadata" / "metadata.go"
    text = metadata.read_text()
    if ID_COLUMN_ORIGINAL not in text:
        raise RuntimeError(f"FerretDB source changed; cannot apply the _id index patch to {metadata}")
    metadata.write_text(text.replace(ID_COLUMN_ORIGINAL, ID_COLUMN_PATCHED))


def ensure_ferretdb(version: str = FERRETDB_VERSION) -> Path:
    """Builds FerretDB once into the cache.

    `go install …@version` does not serve here: the proxy refuses the module's version list (which go
    install reads for deprecation notices), and a module build panics at start because the embedded
    `build/version/version.txt` is empty. So: download the module, copy it, write version.txt, go build.
    """
    binary = ferretdb_binary(version)
    if binary.is_file():
        return binary
    if shutil.which("go") is None:
        raise RuntimeError("Go is needed to build FerretDB (no mongod on PATH); install Go first")
    info = subprocess.run(
        ["go", "mod", "download", "-json", f"{FERRETDB_MODULE}@{version}"],
        check=True,
        capture_output=True,
        text=True,
    )
    module_dir = Path(json.loads(info.stdout)["Dir"])
    binary.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=binary.parent) as work:
        src = Path(work) / "src"
        shutil.copytree(module_dir, src)
        for path in src.rglob("*"):
            path.chmod(path.stat().st_mode | 0o200)
        (src / "build" / "version" / "version.txt").write_text(version + "\n")
        patch_id_lookups(src)
        staged = Path(work) / "ferretdb"
        subprocess.run(["go", "build", "-o", str(staged), "./cmd/ferretdb"], cwd=src, check=True)
        staged.rename(binary)
    return binary


@dataclass(frozen=True)
class MongoLocal:
    layout: Layout
    port: int = 27017

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/hookline"

    @property
    def home(self) -> Path:
        return self.layout.data / "mongo"

    @property
    def flavour(self) -> str:
        return "mongod" if shutil.which("mongod") else "ferretdb"

    def _argv(self) -> list[str]:
        self.home.mkdir(parents=True, exist_ok=True)
        mongod = shutil.which("mongod")
        if mongod:
            return [mongod, "--dbpath", str(self.home), "--bind_ip", "127.0.0.1", "--port", str(self.port), "--quiet"]
        binary = ensure_ferretdb()
        return [
            str(binary),
            "--handler=sqlite",
            # WAL with synchronous=NORMAL: a commit survives a FerretDB crash and is synced at checkpoints, not
            # one fsync per commit (MongoDB's own default, w:1, acknowledges before its journal flush too).
            f"--sqlite-url=file:{self.home}/?_pragma=synchronous(normal)",
            f"--listen-addr=127.0.0.1:{self.port}",
            # Its debug HTTP listener would clash between two instances (tests beside `make up`).
            "--debug-addr=127.0.0.1:0",
            f"--state-dir={self.home}",
            "--telemetry=disable",
            "--log-level=warn",
        ]

    def running(self) -> bool:
        return read_pid(self.layout.pid_file(NAME)) is not None and port_open("127.0.0.1", self.port)

    def up(self, timeout: float = 60.0) -> str:
        if self.running():
            return self.url
        if port_open("127.0.0.1", self.port):
            raise RuntimeError(f"port {self.port} is taken by a process Hookline did not start")
        spawn(NAME, self._argv(), self.layout)
        wait_until(lambda: port_open("127.0.0.1", self.port), timeout, f"MongoDB-wire server on {self.port}")
        return self.url

    def down(self) -> bool:
        return stop(NAME, self.layout)

    def wipe(self) -> None:
        self.down()
        shutil.rmtree(self.home, ignore_errors=True)
