"""Resident memory over many consecutive predictions (issue 7: "1 000 predictions, RSS flat").

    python benchmarks/memory_soak.py [--n 1000] [--model default]

Prints RSS after loading and after warm-up, then every 100 predictions, and the growth from
prediction 100 to the last (allocator warm-up happens in the first ones). Each prediction is a
fresh 3 s clip (speech-like synthetic vowel with a random pitch), predicted and explained as the
Detect page does.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from ser_core.app_support.samples import synthetic_vowel
from ser_core.inference import load_predictor
from ser_core.inference.bench import rss_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--model", default="default")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    predictor = load_predictor(args.model)
    print(f"loaded {predictor.name}: {rss_mb():.0f} MB")
    rng = np.random.default_rng(0)
    base = synthetic_vowel(3.0)
    marks: dict[int, float] = {}
    started = time.perf_counter()
    for i in range(1, args.n + 1):
        clip = np.roll(base, int(rng.integers(0, len(base)))) * float(rng.uniform(0.3, 1.0))
        predictor.predict_signal(clip.astype(np.float32), 16000)
        if i % 100 == 0 or i == 1:
            marks[i] = rss_mb()
            print(f"{i:5d} predictions: {marks[i]:.0f} MB", flush=True)
    seconds = time.perf_counter() - started
    first = marks.get(100, marks[1])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.n} predictions in {seconds:.0f} s ({1000 * seconds / args.n:.0f} ms each); RSS "
        f"{first:.0f} MB at 100 -> {marks[max(marks)]:.0f} MB at {max(marks)} "
        f"(growth {marks[max(marks)] - first:+.0f} MB); peak {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
