"""Fixtures for Cairn's MLflow-compatibility integration suite.

Run from the repository root with Debian's interpreter:

    /usr/bin/python3 -m pytest tests/integration -q

Environment:
    CAIRN_BINARY             the `cairn` binary (default <repo>/build/release/cairn)
    CAIRN_TEST_POSTGRES_URI  postgresql://... of a throwaway server; every server start
                             gets a fresh database created in it (psql). Unset: the
                             postgres backend is skipped.
    CAIRN_MLFLOW_CLIENTS     folder holding mlflow-2.12/ and mlflow-3.6/
                             (default: shared/clients beside the checkout, a folder
                             above it or a clone's origin; scripts/find-shared)

The MLflow clients run in subprocesses (each version needs its own PYTHONPATH): see
run_client(). Client scripts print a JSON document on their last stdout line, which
the test parses and asserts on.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BINARY = Path(os.environ.get("CAIRN_BINARY", REPO / "build" / "release" / "cairn"))
def _find_clients_dir():
    """Where the MLflow clients live, one folder per version (mlflow-2.12, mlflow-3.6):
    $CAIRN_MLFLOW_CLIENTS, else shared/clients beside the checkout, a folder above it or a
    clone's origin (scripts/find-shared). An installed mlflow of the version a test wants
    is used before any of these (installed_mlflow)."""
    if os.environ.get("CAIRN_MLFLOW_CLIENTS"):
        return Path(os.environ["CAIRN_MLFLOW_CLIENTS"])
    found = subprocess.run([str(REPO / "scripts" / "find-shared"), "clients"],
                           capture_output=True, text=True)
    return Path(found.stdout.strip()) if found.returncode == 0 else None


def installed_mlflow() -> str | None:
    """The version of an mlflow installed for Debian's python3, if any."""
    r = subprocess.run([PYTHON, "-c", "import mlflow; print(mlflow.__version__)"],
                       capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    return r.stdout.strip() if r.returncode == 0 else None


CLIENTS_DIR = _find_clients_dir()
PYTHON = "/usr/bin/python3"
PG_URI = os.environ.get("CAIRN_TEST_POSTGRES_URI", "").strip()
PG_SKIP_REASON = (
    "postgres backend skipped: set CAIRN_TEST_POSTGRES_URI to a throwaway PostgreSQL URI "
    "(e.g. from scripts/pg-test-cluster start DIR) to run it"
)
MLFLOW_VERSIONS = ["2.12", "3.6"]
LOG_TAIL_LINES = 60


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    return "\n".join(text.splitlines()[-lines:])


class CairnServer:
    """One `cairn server` process. Its stderr (JSON logs) goes to `log_path`."""

    def __init__(self, data_dir: Path, store_uri: str | None = None, label: str = "cairn",
                 extra_args: list[str] | None = None):
        self.data_dir = Path(data_dir)
        self.store_uri = store_uri
        self.extra_args = list(extra_args or [])
        self.label = label
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None
        self.log_path: Path | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "CairnServer":
        if not BINARY.exists():
            pytest.fail(f"cairn binary not found at {BINARY} (build it, or set CAIRN_BINARY)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        last_error = ""
        for _attempt in range(3):
            self.starts += 1
            self.port = free_port()
            self.log_path = self.data_dir.parent / f"{self.data_dir.name}.server{self.starts}.log"
            cmd = [str(BINARY), "server", "--host", "127.0.0.1", "--port", str(self.port),
                   "--data-dir", str(self.data_dir)]
            if self.store_uri:
                cmd += ["--store", self.store_uri]
            cmd += self.extra_args
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, cwd=self.data_dir)
            ok, last_error = self._wait_healthy(timeout)
            if ok:
                return self
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if "address already in use" not in tail(self.log_path).lower():
                break
        pytest.fail(f"cairn server did not become healthy: {last_error}\n"
                    f"command: {' '.join(cmd)}\n--- server log tail ---\n{tail(self.log_path)}")

    def _wait_healthy(self, timeout: float) -> tuple[bool, str]:
        deadline = time.monotonic() + timeout
        err = "timeout"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False, f"process exited with code {self.proc.returncode}"
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return True, ""
                    err = f"/health answered {r.status}"
            except (urllib.error.URLError, OSError) as e:
                err = repr(e)
            time.sleep(0.05)
        return False, f"no healthy /health within {timeout}s ({err})"

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait for a graceful exit; returns the exit code (None: had to SIGKILL)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def log_tail(self) -> str:
        return tail(self.log_path) if self.log_path else "<no log>"


def _psql(uri: str, sql: str) -> None:
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", uri, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"psql {sql!r} failed: {r.stderr.strip()}")


class Backend:
    """A metadata-store backend; fresh_store_uri() isolates each server start."""

    def __init__(self, name: str):
        self.name = name
        self.created: list[str] = []

    def fresh_store_uri(self) -> str | None:
        if self.name == "sqlite":
            return None  # embedded default inside the fresh --data-dir
        db = "cairn_it_" + uuid.uuid4().hex[:12]
        _psql(PG_URI, f"CREATE DATABASE {db}")
        self.created.append(db)
        parts = urllib.parse.urlsplit(PG_URI)
        return urllib.parse.urlunsplit(parts._replace(path="/" + db))

    def cleanup(self) -> None:
        for db in self.created:
            try:
                _psql(PG_URI, f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            except Exception:  # a leftover database in a throwaway cluster is harmless
                pass


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request):
    if request.param == "postgres" and not PG_URI:
        pytest.skip(PG_SKIP_REASON)
    b = Backend(request.param)
    yield b
    b.cleanup()


class ServerFactory:
    """Starts servers for a test; remembers them so failures can show their logs."""

    def __init__(self, backend: Backend, tmp_root: Path):
        self.backend = backend
        self.tmp_root = tmp_root
        self.servers: list[CairnServer] = []

    def new(self, data_dir: Path | None = None, store_uri: str | None = None,
            fresh_store: bool = True, extra_args: list[str] | None = None) -> CairnServer:
        if data_dir is None:
            data_dir = Path(tempfile.mkdtemp(prefix="data-", dir=self.tmp_root))
        if store_uri is None and fresh_store:
            store_uri = self.backend.fresh_store_uri()
        s = CairnServer(data_dir, store_uri, label=self.backend.name, extra_args=extra_args)
        self.servers.append(s)
        return s

    def cleanup(self):
        for s in self.servers:
            s.kill9()


@pytest.fixture
def server_factory(backend, tmp_path):
    f = ServerFactory(backend, tmp_path)
    yield f
    f.cleanup()


@pytest.fixture(scope="session")
def server(backend, tmp_path_factory):
    """A running `cairn server` (one per backend for the session); yields it (.url)."""
    root = tmp_path_factory.mktemp(f"cairn-{backend.name}")
    s = CairnServer(root / "data", backend.fresh_store_uri(), label=backend.name)
    s.start()
    yield s
    code = s.stop(timeout=30)
    assert code == 0, (
        f"cairn server did not exit 0 within 30 s of SIGTERM (exit code {code}; None means it "
        f"had to be killed)\n--- server log tail ---\n{s.log_tail()}")


@pytest.fixture(scope="session")
def base_url(server) -> str:
    return server.url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    funcargs = getattr(item, "funcargs", {}) or {}
    servers = []
    for value in funcargs.values():
        if isinstance(value, CairnServer):
            servers.append(value)
        elif isinstance(value, ServerFactory):
            servers.extend(value.servers)
    for s in servers:
        if s.log_path:
            rep.sections.append((f"cairn server log tail ({s.label}, {s.log_path})", s.log_tail()))


# --------------------------------------------------------------------------- clients


class ClientResult:
    def __init__(self, proc: subprocess.CompletedProcess, script_path: Path):
        self.proc = proc
        self.script_path = script_path
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def json(self):
        lines = [ln for ln in self.stdout.splitlines() if ln.strip()]
        assert lines, f"client script printed nothing\n--- stderr ---\n{self.stderr[-6000:]}"
        return json.loads(lines[-1])


_INSTALLED = installed_mlflow() if not os.environ.get("CAIRN_MLFLOW_CLIENTS") else None


def client_dir(version: str) -> Path | None:
    """The folder to put on PYTHONPATH for MLflow `version`; None when the installed mlflow
    is that version (CAIRN_MLFLOW_CLIENTS, when set, always wins)."""
    if _INSTALLED is not None and (_INSTALLED == version or _INSTALLED.startswith(version + ".")):
        return None
    d = CLIENTS_DIR / f"mlflow-{version}" if CLIENTS_DIR else None
    if d is None or not d.is_dir():
        pytest.fail(f"MLflow client {version} not found at "
                    f"{d or 'shared/clients beside the checkout, above it or beside its origin'}: set CAIRN_MLFLOW_CLIENTS to a folder "
                    f"holding mlflow-{version}/ (an unpacked mlflow=={version} with its dependencies "
                    f"importable by /usr/bin/python3), or install mlflow=={version} (README, Tests)")
    return d


def run_client(version: str, script_text: str, tracking_uri: str, timeout: float = 180,
               check: bool = True) -> ClientResult:
    """Runs `script_text` with Debian's python3 and the given MLflow client version.

    Asserts exit code 0 (unless check=False); the script's last stdout line is JSON
    (ClientResult.json)."""
    work = Path(tempfile.mkdtemp(prefix=f"mlflow-{version}-"))
    script = work / "client_script.py"
    script.write_text(textwrap.dedent(script_text))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(work),
        "TMPDIR": str(work),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(client_dir(version) or ""),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "GIT_PYTHON_REFRESH": "quiet",
    }
    try:
        proc = subprocess.run([PYTHON, str(script)], cwd=work, env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = (e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        pytest.fail(f"MLflow {version} client script timed out after {timeout}s ({script})\n"
                    f"--- stdout ---\n{out[-4000:]}\n--- stderr ---\n{err[-8000:]}")
    result = ClientResult(proc, script)
    if check:
        assert proc.returncode == 0, (
            f"MLflow {version} client script exited {proc.returncode} ({script})\n"
            f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-8000:]}")
    return result


def cairn_cli(server: CairnServer, *args: str) -> subprocess.CompletedProcess:
    """Runs `cairn <args>` on `server`'s data dir and store (admin commands act on
    the store directly); returns the finished process."""
    cmd = [str(BINARY), *args, "--data-dir", str(server.data_dir)]
    if server.store_uri:
        cmd += ["--store", server.store_uri]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture(params=MLFLOW_VERSIONS)
def mlflow_version(request) -> str:
    return request.param


def pytest_report_header(config):
    return [f"cairn binary: {BINARY}", f"mlflow clients: {CLIENTS_DIR}",
            f"postgres: {'CAIRN_TEST_POSTGRES_URI set' if PG_URI else 'skipped (no CAIRN_TEST_POSTGRES_URI)'}"]


if not Path(PYTHON).exists():  # pragma: no cover
    sys.stderr.write("warning: /usr/bin/python3 is missing; MLflow client tests will fail\n")
