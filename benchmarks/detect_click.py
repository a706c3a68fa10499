"""CPU time of one Detect click (a measurement, not a test; issue 22).

    python benchmarks/detect_click.py [--checkpoint default] [--seconds 3] [--repeats 10]
                                      [--mode old|new|both]

What one click on the Detect page does with a decoded clip, explanation included, timed with
``time.process_time`` (CPU seconds of this process, every thread) after the model is loaded and
one click has warmed it up:

* ``old``: the page's work before issue 22, rebuilt from public functions: the label from the
  exported ONNX pipeline when the checkpoint has one (else ``Predictor.predict_signal``), the
  page's own display log-mel, then the old ``Predictor.explain``, which was
  ``predict_signal`` (validate, featurise, predict again) followed by the explanation pass
  (today's one-pass ``explain``).
* ``new``: one ``Predictor.analyse`` call (decode / validate once, featurise once, one model pass
  on one runtime; the display spectrogram included).

Prints the median (and min / max) CPU and wall seconds per click for each mode.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ser_core.app_support.samples import synthetic_vowel
from ser_core.audio import read_audio
from ser_core.inference import load_predictor


def _old_click(predictor: Any, exported: Any) -> Callable[[Any], Any]:
    from ser_core.features import LogMelConfig, extract, frame_times

    def click(clip: Any) -> Any:
        if exported is not None and exported.supports(clip.duration):
            prediction = exported.predict_signal(clip.signal, clip.sample_rate)
        else:
            prediction = predictor.predict_signal(clip.signal, clip.sample_rate)
        config = LogMelConfig()
        mel = extract(config, clip.signal, clip.sample_rate)
        frame_times(config, mel.shape[1])
        predictor.predict_signal(clip.signal, clip.sample_rate)  # the old explain's own predict
        explanation = predictor.explain(clip.signal, clip.sample_rate)
        return prediction, explanation

    return click


def _new_click(predictor: Any) -> Callable[[Any], Any]:
    def click(clip: Any) -> Any:
        return predictor.analyse(clip)

    return click


def _time(click: Callable[[Any], Any], clip: Any, repeats: int) -> tuple[list[float], list[float]]:
    click(clip)  # warm-up: lazy sessions (the attention graph), allocator, caches
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        click(clip)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default="default")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--mode", choices=("old", "new", "both"), default="both")
    args = parser.parse_args()

    predictor = load_predictor(args.checkpoint)
    exported = None
    try:
        from ser_core.inference.exported import ExportedPredictor

        exported = ExportedPredictor.from_checkpoint(args.checkpoint)
    except Exception:  # not exportable / not exported: the page used the torch predictor
        exported = None
    # The page holds the clip decoded when it was chosen (decode_once): the click starts there.
    signal = synthetic_vowel(args.seconds, 150.0, 120.0, seed=0).astype(np.float32)
    clip = read_audio(signal, 16000)
    modes = ["old", "new"] if args.mode == "both" else [args.mode]
    print(
        f"{args.checkpoint} ({predictor.model_name}), {args.seconds:g} s clip, "
        f"exported pipeline: {'yes' if exported is not None else 'no'}, "
        f"median of {args.repeats} warm clicks"
    )
    for mode in modes:
        if mode == "new" and not hasattr(predictor, "analyse"):
            print("new: Predictor.analyse does not exist in this version")
            continue
        click = _old_click(predictor, exported) if mode == "old" else _new_click(predictor)
        cpu, wall = _time(click, clip, args.repeats)
        print(
            f"{mode}: CPU {statistics.median(cpu):.3f} s per click "
            f"(min {min(cpu):.3f}, max {max(cpu):.3f}); wall {statistics.median(wall):.3f} s"
        )


if __name__ == "__main__":
    main()
