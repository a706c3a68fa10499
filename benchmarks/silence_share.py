"""How much of each corpus's clips is silence around the speech (what ``trim_db`` removes).

For every clip of every corpus under ``--data-root``, the share of its samples outside
:func:`ser_core.audio.speech_bounds` (frames more than ``--top-db`` dB below the clip's
loudest), then the mean and range per corpus. Pooled statistics over a clip count this silence,
so a share that differs by corpus is a corpus artefact a model can learn.

Not a test: a measurement (decodes every clip once, about 30 s).

    python benchmarks/silence_share.py --data-root ../shared/corpora
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from ser_core.audio import read_audio, speech_bounds
from ser_core.data import load_corpora


def silence_share(path: str, top_db: float) -> float:
    """The share of ``path``'s samples before and after its speech."""
    signal = read_audio(path, target_rate=16000).signal
    start, stop = speech_bounds(signal, 16000, top_db)
    return 1.0 - (stop - start) / signal.shape[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True)
    parser.add_argument("--top-db", type=float, default=40.0)
    args = parser.parse_args()
    manifest = load_corpora(args.data_root)  # every corpus found there
    manifest["silence"] = [silence_share(str(p), args.top_db) for p in manifest["path"]]
    table = manifest.groupby("corpus")["silence"].agg(
        clips="size",
        mean="mean",
        p10=lambda s: np.percentile(s, 10),
        p90=lambda s: np.percentile(s, 90),
    )
    print(f"share of each clip outside its speech (top_db {args.top_db:g})")
    print(pd.concat([table[["clips"]], (100 * table[["mean", "p10", "p90"]]).round(1)], axis=1))


if __name__ == "__main__":
    main()
