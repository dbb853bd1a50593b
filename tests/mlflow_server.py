"""A real `mlflow server` for the tests (a pytest plugin: `pytest_plugins` in conftest.py).

One server per test session (per xdist worker that needs one), launched right after collection
when a selected test needs it, so that its start-up overlaps the first tests: SQLite backend and
proxied artifacts in a tmp dir, bound to 127.0.0.1 on a free port. The server spawns worker
processes, so it starts in its own process group (start_new_session) and the whole group is
ended with os.killpg — never by name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

STARTUP_DEADLINE = 120.0
STOP_GRACE = 10.0


@dataclass(frozen=True)
class MlflowServer:
    uri: str
    root: Path
    """Holds the SQLite database, the artifacts and the server's log."""


def _mlflow_executable() -> str | None:
    return shutil.which("mlflow", path=str(Path(sys.executable).parent)) or shutil.which("mlflow")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class LaunchedServer:
    process: subprocess.Popen[bytes]
    server: MlflowServer


def launch_mlflow_server(root: Path) -> LaunchedServer:
    """Start the server without waiting for it (see `wait_until_ready`)."""
    executable = _mlflow_executable()
    assert executable is not None
    root.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MLFLOW_", "GITHUB_"))
    }
    env.update(
        HOME=str(root / "home"),
        # The job runner spawns a dozen background consumers the tests never use.
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
        PYTHONWARNINGS="ignore",
    )
    with (root / "server.log").open("wb") as log:
        process = subprocess.Popen(
            [
                executable,
                "server",
                "--backend-store-uri",
                f"sqlite:///{root / 'mlflow.db'}",
                "--artifacts-destination",
                str(root / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
            ],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return LaunchedServer(process, MlflowServer(uri=f"http://127.0.0.1:{port}", root=root))


def wait_until_ready(launched: LaunchedServer) -> None:
    """Poll /health until it answers, failing (and stopping the server) past the deadline."""
    deadline = time.monotonic() + STARTUP_DEADLINE
    while not _healthy(launched.server.uri):
        if launched.process.poll() is not None or time.monotonic() > deadline:
            stop_mlflow_server(launched.process)
            tail = (launched.server.root / "server.log").read_text(errors="replace")[-3000:]
            pytest.fail(f"mlflow server did not become ready at {launched.server.uri}:\n{tail}")
        time.sleep(0.2)


def stop_mlflow_server(process: subprocess.Popen[bytes]) -> None:
    """End the server's whole process group: SIGTERM, then SIGKILL after a grace period."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_GRACE)
    # Workers may outlive the parent; the group id is still the parent's pid.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=STOP_GRACE)


# A server launched as soon as collection shows that a test needs it, so that its start-up
# (~10 s, mostly importing mlflow) overlaps the tests that run first.
_early: list[LaunchedServer] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly or _mlflow_executable() is None:
        return
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker collects every test but runs few: start lazily, if at all
    if any("mlflow_server" in getattr(item, "fixturenames", ()) for item in session.items):
        _early.append(launch_mlflow_server(Path(tempfile.mkdtemp(prefix="mlci-mlflow-server-"))))


def pytest_sessionfinish(session: pytest.Session) -> None:
    while _early:
        launched = _early.pop()
        stop_mlflow_server(launched.process)
        shutil.rmtree(launched.server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    if _mlflow_executable() is None:
        pytest.skip("the mlflow server is not installed (pip install mlflow)")
    if _early:
        wait_until_ready(_early[0])
        yield _early[0].server
        return
    launched = launch_mlflow_server(tmp_path_factory.mktemp("mlflow-server"))
    try:
        wait_until_ready(launched)
        yield launched.server
    finally:
        stop_mlflow_server(launched.process)
