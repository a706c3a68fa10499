"""The running app under load: cold start, then N browser sessions detecting at once (issue 7).

    python benchmarks/app_load.py [--sessions 20] [--clip path.wav] [--checkpoints checkpoints]

1. **Cold start**: launches ``streamlit run app.py`` and, in one headless Chromium page, opens
   Detect, uploads the clip and presses Detect as soon as the page lets it; prints the seconds
   from launching the server to the predicted label on screen (server start, imports, model
   load and the prediction, everything a user waits for the first time).
2. **Concurrent sessions**: ``--sessions`` browser contexts (separate Streamlit sessions) open
   the page, upload the clip and press Detect together (a barrier releases the clicks at once);
   prints the median and worst seconds from the click to the label, and every error shown.

The clip defaults to a 3 s synthetic vowel; pass a real one with ``--clip``. Chromium is
Debian's (``apt-get install chromium``), driven by the ``playwright`` package.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from playwright.async_api import Browser, async_playwright

from ser_core.app_support.samples import synthetic_vowel, to_wav_bytes
from ser_core.app_support.server import CHROMIUM_ARGS, chromium_path, serve_app

ROOT = Path(__file__).resolve().parents[1]
PAGE_READY = "Detect the emotion in a clip"
TIMEOUT_MS = 300_000


async def detect_once(
    browser: Browser,
    base: str,
    clip: Path,
    barrier: asyncio.Barrier | None,
    marks: dict[str, float] | None = None,
) -> tuple[float, str, int]:
    """One session: open Detect, upload, (wait for the others), click; seconds click → label.

    ``marks`` receives the ``perf_counter`` time of each step (page shown, ready, label)."""
    marks = {} if marks is None else marks
    context = await browser.new_context(viewport={"width": 1400, "height": 1400})
    page = await context.new_page()
    try:
        await page.goto(base, wait_until="domcontentloaded")
        await page.get_by_text(PAGE_READY).wait_for(timeout=TIMEOUT_MS)
        marks["page shown"] = time.perf_counter()
        await page.locator("input[type=file]").first.set_input_files(str(clip))
        button = page.get_by_role("button", name="Detect", exact=True)
        await button.wait_for(timeout=TIMEOUT_MS)
        marks["Detect enabled"] = time.perf_counter()
        if barrier is not None:
            await barrier.wait()
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
    finally:
        await context.close()


async def run(args: argparse.Namespace, clip: Path) -> None:
    executable = chromium_path()
    if executable is None:
        raise SystemExit("Debian's chromium is not installed (apt-get install -y chromium)")
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
            barrier = asyncio.Barrier(args.sessions)
            started = time.perf_counter()
            results = await asyncio.gather(
                *(detect_once(browser, base, clip, barrier) for _ in range(args.sessions)),
                return_exceptions=True,
            )
            wall = time.perf_counter() - started
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = args.clip
        if clip is None:
            clip = Path(tmp) / "clip.wav"
            clip.write_bytes(to_wav_bytes(synthetic_vowel(3.0)))
        asyncio.run(run(args, clip))


if __name__ == "__main__":
    main()
