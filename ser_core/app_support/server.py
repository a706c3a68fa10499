"""Start the Streamlit demonstrator in a subprocess and drive it with a headless browser.

Shared by the real-browser test and the load / cold-start benchmarks, so both start the app the
same way ``streamlit run app.py`` does. Chromium is Debian's (``apt-get install chromium``),
driven by the ``playwright`` package without ``playwright install``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

__all__ = ["CHROMIUM_ARGS", "chromium_path", "fake_microphone_args", "free_port", "serve_app"]

# Headless flags for this machine's closed network: without the background-networking ones
# Chromium keeps opening connections that are refused.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def fake_microphone_args(wav: str | Path) -> list[str]:
    """Chromium flags that grant the microphone and feed it from ``wav`` (looped).

    Chromium reads the file as its capture device, so the page gets it through getUserMedia as
    from a real microphone (WebRTC, MediaRecorder). A 48 kHz 16-bit PCM WAV works best.
    """
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={Path(wav).resolve()}",
    ]


def chromium_path() -> str | None:
    """Debian's chromium (``$SER_CHROMIUM`` overrides), or None when it is not installed."""
    configured = os.environ.get("SER_CHROMIUM", "/usr/bin/chromium")
    if os.path.exists(configured):
        return configured
    return shutil.which("chromium")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_app(
    app: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    timeout: float = 60.0,
) -> Iterator[str]:
    """Run ``streamlit run app`` headless on 127.0.0.1 and yield its base URL once healthy.

    Args:
        app: the app script (its folder is the working directory, so ``views/`` resolve).
        env: extra environment variables for the server (e.g. ``SER_CHECKPOINTS``).
        port: the port (default: a free one).
        timeout: seconds to wait for ``/_stcore/health``.

    Raises:
        RuntimeError: the server exited or did not become healthy in time (with its stderr).
    """
    app = Path(app).resolve()
    port = port or free_port()
    # A file, not a pipe: nobody reads the server's log while it runs, and a full pipe would
    # block the server mid-request.
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(app),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=app.parent,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None:
                log.seek(0)
                stderr = log.read().decode(errors="replace")
                raise RuntimeError(f"streamlit exited early:\n{stderr[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not become healthy within {timeout:.0f} s")
            time.sleep(0.25)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
