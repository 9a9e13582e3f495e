"""FerretDB v1.24.2 built from its Go module with the machine's Go, SQLite backend, data on disk.

``go install …@v1.24.2`` yields a binary that refuses to start (its embedded version file is
empty in the module zip), so the pinned module is downloaded and verified by the Go toolchain,
copied, given its version file, and built with ``go build``.

Two lines are patched before the build, both about finding a document by ``_id``:

1. FerretDB's SQLite backend looks documents up by ``_ferretdb_sjson->'$._id'`` but indexes
   ``_id`` as ``_ferretdb_sjson->"_id"``; SQLite's planner matches index expressions literally,
   so every find, update and delete by ``_id`` scanned its whole collection (an update took
   ~80 ms at 6,000 documents of 3 KB, growing with every document). The lookup is spelled as
   the index is: same rows, ``SEARCH … USING INDEX …__id_`` instead of ``SCAN``.
2. The ``_id`` lookup was used only when the filter is exactly ``{_id: x}``; a compare-and-set
   such as ``{_id: x, revision: 3}`` scanned. It is now used whenever the filter holds a string
   or ObjectId ``_id``: the handlers still apply the whole filter to the rows found, and
   top-level filter keys are AND-ed, so the result is the same.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from hardtech.errors import SetupError
from hardtech.paths import BIN, DATA, LOCAL
from hardtech.procs import Proc, port_open, require_free_port, wait_until

VERSION = "v1.24.2"
MODULE = "github.com/FerretDB/FerretDB"
PROC = Proc("ferretdb")
HOST = "127.0.0.1"
PORT = int(os.environ.get("HARDTECH_FERRETDB_PORT", "27017"))
DEBUG_PORT = int(os.environ.get("HARDTECH_FERRETDB_DEBUG_PORT", "27088"))
BINARY = BIN / "ferretdb"
BUILD_STAMP = BIN / "ferretdb.build"  # which build of the pinned version the binary is
# (file, text, replacement): see the module's docstring
PATCHES = (
    ("internal/backends/sqlite/metadata/metadata.go",
     """IDColumn = DefaultColumn + "->'$._id'"\n""",
     """IDColumn = DefaultColumn + `->"_id"`\n"""),
    ("internal/backends/sqlite/collection.go",
     "\tif params.Filter.Len() == 1 {\n\t\tv, _ := params.Filter.Get(\"_id\")\n\t\tswitch v.(type) {\n"
     "\t\tcase string, types.ObjectID:\n\t\t\twhereClause",
     "\tif params.Filter.Len() >= 1 {\n\t\tv, _ := params.Filter.Get(\"_id\")\n\t\tswitch v.(type) {\n"
     "\t\tcase string, types.ObjectID:\n\t\t\twhereClause"),
)
BUILD = f"{VERSION}+id-index-lookups"
DATA_DIR = DATA / "ferretdb"


def uri() -> str:
    return f"mongodb://{HOST}:{PORT}"


def installed() -> bool:
    if not BINARY.exists():
        return False
    if not BUILD_STAMP.exists() or BUILD_STAMP.read_text().strip() != BUILD:
        return False
    result = subprocess.run([str(BINARY), "--version"], capture_output=True, text=True)
    return result.returncode == 0 and f"version: {VERSION}" in result.stdout


def install() -> bool:
    """Build FerretDB; False when the pinned version was already built."""
    if installed():
        return False
    go = shutil.which("go")
    if go is None:
        raise SetupError("go not found on PATH: Go is needed to build FerretDB (https://go.dev/doc/install)")
    env = {**os.environ, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    download = subprocess.run([go, "mod", "download", "-json", f"{MODULE}@{VERSION}"],
                              capture_output=True, text=True, env=env)
    if download.returncode != 0:
        raise SetupError(f"downloading FerretDB {VERSION} failed: "
                         f"{download.stderr.strip()[-300:] or download.stdout[-300:]}")
    source = LOCAL / "src" / f"ferretdb-{VERSION}"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(json.loads(download.stdout)["Dir"], source)
    for path in source.rglob("*"):
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    (source / "build" / "version" / "version.txt").write_text(VERSION + "\n")
    for patch in PATCHES:
        _patch(source, *patch)
    BIN.mkdir(parents=True, exist_ok=True)
    build = subprocess.run([go, "build", "-trimpath", "-o", str(BINARY), "./cmd/ferretdb"],
                           cwd=source, capture_output=True, text=True, env=env)
    if build.returncode != 0:
        raise SetupError(f"building FerretDB failed: {build.stderr.strip()[-300:]}")
    shutil.rmtree(source, ignore_errors=True)
    BUILD_STAMP.write_text(BUILD + "\n")
    return True


def _patch(source: Path, relative: str, old: str, new: str) -> None:
    path = source / relative
    text = path.read_text()
    if text.count(old) != 1:
        raise SetupError(f"cannot patch FerretDB {VERSION}: {relative} does not contain {old!r} once")
    path.write_text(text.replace(old, new))


def healthy(mongodb_uri: str | None = None) -> bool:
    if mongodb_uri is None and not port_open(HOST, PORT):
        return False
    client: MongoClient[dict[str, Any]]
    try:
        with MongoClient(mongodb_uri or uri(), serverSelectionTimeoutMS=2000) as client:
            return bool(client.admin.command("hello").get("ok"))
    except PyMongoError:
        return False


def start(timeout: float = 60) -> bool:
    if PROC.pid() is not None:
        wait_until(healthy, timeout=timeout, what=f"FerretDB to answer hello on {uri()}", proc=PROC)
        return False
    require_free_port(HOST, PORT, "FerretDB")
    require_free_port(HOST, DEBUG_PORT, "FerretDB's debug handler")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    PROC.start([str(BINARY), "--handler=sqlite", f"--sqlite-url=file:{DATA_DIR}/", f"--state-dir={DATA_DIR}",
                f"--listen-addr={HOST}:{PORT}", f"--debug-addr={HOST}:{DEBUG_PORT}", "--telemetry=disable",
                "--log-level=WARN"], env={"FERRETDB_TELEMETRY": "disable", "DO_NOT_TRACK": "1"})
    wait_until(healthy, timeout=timeout, what=f"FerretDB to answer hello on {uri()}", proc=PROC)
    return True


def stop() -> bool:
    return PROC.stop(timeout=15)
