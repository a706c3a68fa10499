"""The running app under load: cold start, then N browser sessions detecting at once (issue 7).

    python benchmarks/app_load.py [--sessions 20] [--clip path.wav] [--checkpoints checkpoints]

1. **Cold start**: launches ``streamlit run app.py`` and, in one headless Chromium page, opens
   Detect, uploads the clip and presses Detect as soon as the page lets it; prints the seconds
   from launching the server to the predicted label on screen (server start, imports, model
   load and the prediction, everything a user waits for the first time).
2. **Concurrent sessions**: ``--sessions`` browser contexts (separate Streamlit sessions) open
   the page, upload a clip each (the clip pitch-shifted, a different one per session) and
   press Detect together (released at once when all are ready);
   prints the median and worst seconds from the click to the label, and every error shown.

The clip defaults to a 3 s synthetic vowel; pass a real one with ``--clip``. Chromium is
Debian's (``apt-get install chromium``), driven by the ``playwright`` package, and runs at the
lowest CPU priority (``nice 19``; ``--no-nice`` to turn off) because here it shares the
server's two cores; the CPU each side used is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from playwright.async_api import Browser, async_playwright

from ser_core.app_support.samples import synthetic_vowel, to_wav_bytes
from ser_core.app_support.server import CHROMIUM_ARGS, chromium_path, serve_app

ROOT = Path(__file__).resolve().parents[1]
PAGE_READY = "Detect the emotion in a clip"
TIMEOUT_MS = 300_000


class Start:
    """Releases every session's click at once, when all are ready (or have failed)."""

    def __init__(self, sessions: int) -> None:
        self.waiting = sessions
        self.go = asyncio.Event()

    def _count(self) -> None:
        self.waiting -= 1
        if self.waiting <= 0:
            self.go.set()

    async def ready(self) -> None:
        self._count()
        await asyncio.wait_for(self.go.wait(), TIMEOUT_MS / 1000)

    def failed(self) -> None:
        """A session that failed before :meth:`ready`: stop waiting for it."""
        self._count()


async def detect_once(
    browser: Browser,
    base: str,
    clip: Path,
    start: Start | None,
    marks: dict[str, float] | None = None,
) -> tuple[float, str, int]:
    """One session: open Detect, upload, (wait for the others), click; seconds click → label.

    ``marks`` receives the ``perf_counter`` time of each step (page shown, ready, label)."""
    marks = {} if marks is None else marks
    counted = False
    context = await browser.new_context(viewport={"width": 1400, "height": 1400})
    context.set_default_timeout(TIMEOUT_MS)
    page = await context.new_page()
    try:
        await page.goto(base, wait_until="domcontentloaded")
        await page.get_by_text(PAGE_READY).wait_for(timeout=TIMEOUT_MS)
        marks["page shown"] = time.perf_counter()
        await page.locator("input[type=file]").first.set_input_files(str(clip))
        button = page.get_by_role("button", name="Detect", exact=True)
        await button.wait_for(timeout=TIMEOUT_MS)
        marks["Detect enabled"] = time.perf_counter()
        if start is not None:
            counted = True  # from here on this session is counted, failing or not
            await start.ready()
        clicked = time.perf_counter()
        await button.click()
        metric = page.locator("[data-testid='stMetricValue']").first
        await metric.wait_for(timeout=TIMEOUT_MS)
        marks["label shown"] = time.perf_counter()
        seconds = marks["label shown"] - clicked
        label = (await metric.inner_text()).strip()
        errors = await page.locator("[data-testid='stException']").count()
        errors += await page.locator("[data-testid='stAlertContentError']").count()
        return seconds, label, errors
    except BaseException:
        if start is not None and not counted:
            start.failed()  # the others must not wait for this one
        raise
    finally:
        await context.close()


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by the app server and by the browser's processes (Linux /proc),
    to tell how much of the wait is the server's work and how much the browsers' rendering."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {"server": 0.0, "browser": 0.0}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kind = "server" if "streamlit run" in command else "browser" if "chrom" in command else ""
        if kind:
            used[kind] += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return used


def server_rss_mb() -> float:
    """Resident memory of the app server (Linux /proc), in MB."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                if b"streamlit\0run" not in handle.read():
                    continue
            with open(f"/proc/{entry}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            continue
    return float("nan")


def session_clips(clip: Path, sessions: int) -> list[Path]:
    """One different clip per session (the given one, pitch-shifted by a semitone per session),
    so no cache shared between sessions can answer for another."""
    from ser_core.audio import read_audio

    base = read_audio(clip)
    clips = []
    for i in range(sessions):
        path = clip.with_name(f"session-{i:02d}.wav")
        factor = 2 ** (((i % 12) - 6) / 12)
        samples = np.interp(
            np.arange(0, len(base.signal) - 1, factor), np.arange(len(base.signal)), base.signal
        )
        path.write_bytes(to_wav_bytes(samples.astype(np.float32)))
        clips.append(path)
    return clips


def niced(executable: str, folder: Path) -> str:
    """A launcher running the browser at the lowest CPU priority: here the browsers share the
    server's 2 cores, which users' browsers do not; niced, they only take what the server
    leaves, so the times measure the app rather than 20 renderers on the same CPU."""
    launcher = folder / "chromium-niced"
    launcher.write_text(f'#!/bin/sh\nexec nice -n 19 "{executable}" "$@"\n')
    launcher.chmod(0o755)
    return str(launcher)


async def run(args: argparse.Namespace, clip: Path) -> None:
    executable = chromium_path()
    if executable is None:
        raise SystemExit("Debian's chromium is not installed (apt-get install -y chromium)")
    if not args.no_nice:
        executable = niced(executable, clip.parent)
    env = {"SER_CHECKPOINTS": str(Path(args.checkpoints).resolve())}
    launched = time.perf_counter()
    with serve_app(ROOT / "app.py", env=env, timeout=120) as base:
        healthy = time.perf_counter() - launched
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            marks: dict[str, float] = {"browser up": time.perf_counter()}
            seconds, label, errors = await detect_once(browser, base, clip, None, marks)
            steps = ", ".join(f"{k} {v - launched:.1f} s" for k, v in marks.items())
            print(
                f"cold start: server healthy {healthy:.1f} s, {steps} after launch: label "
                f"{label!r} ({seconds:.2f} s after the click){'; ERRORS shown' if errors else ''}",
                flush=True,
            )
            start = Start(args.sessions)
            cpu_before = cpu_seconds()
            started = time.perf_counter()
            results = await asyncio.gather(
                *(detect_once(browser, base, c, start) for c in session_clips(clip, args.sessions)),
                return_exceptions=True,
            )
            wall = time.perf_counter() - started
            cpu = {k: v - cpu_before[k] for k, v in cpu_seconds().items()}
            rss = server_rss_mb()
            await browser.close()
    failures = [r for r in results if isinstance(r, BaseException)]
    done = [r for r in results if not isinstance(r, BaseException)]
    times = sorted(r[0] for r in done)
    shown_errors = sum(r[2] for r in done)
    print(f"{args.sessions} concurrent sessions ({wall:.0f} s from opening to the last label):")
    if times:
        print(
            f"  click → label: median {statistics.median(times):.2f} s, worst {times[-1]:.2f} s, "
            f"best {times[0]:.2f} s; labels {sorted({r[1] for r in done})}"
        )
        print(f"  every session, fastest first: {' '.join(f'{t:.1f}' for t in times)}")
    print(
        f"  CPU used meanwhile: app server {cpu['server']:.0f} s, headless browsers "
        f"{cpu['browser']:.0f} s (of {2 * wall:.0f} s on 2 cores)"
    )
    print(f"  app server resident memory after the last label: {rss:.0f} MB")
    print(f"  sessions failed: {len(failures)}; error messages on screen: {shown_errors}")
    for failure in failures:
        print(f"  failure: {type(failure).__name__}: {str(failure).splitlines()[0]}")
    if failures or shown_errors:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--clip", type=Path, help="audio file to upload (default: 3 s vowel)")
    parser.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    parser.add_argument(
        "--no-nice", action="store_true", help="run the browsers at normal CPU priority"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.wav"
        if args.clip is None:
            clip.write_bytes(to_wav_bytes(synthetic_vowel(3.0)))
        else:
            clip = clip.with_suffix(args.clip.suffix)
            clip.write_bytes(args.clip.read_bytes())
        asyncio.run(run(args, clip))


if __name__ == "__main__":
    main()
