"""Tiny demo checkpoints trained on a synthetic corpus (tests, screenshots, a first look).

The models they hold have learnt pitch-and-loudness toys, not emotions: they exist so the app
and its tests can run end to end on a machine without corpora or shipped checkpoints. Every file
is generated here (no download), so a demo checkpoint is built in seconds on a CPU.

    python -m ser_core.app_support.demo /tmp/demo-checkpoints
    SER_CHECKPOINTS=/tmp/demo-checkpoints streamlit run app.py
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import soundfile as sf

from ser_core.app_support.samples import synthetic_vowel

__all__ = ["DEMO_EMOTIONS", "DEMO_MODELS", "build_demo_checkpoints", "write_demo_corpus"]

#: Emotions of the synthetic corpus and the (f0 start, f0 end, level, vibrato) that stand for them.
DEMO_EMOTIONS: dict[str, tuple[float, float, float, float]] = {
    "neutral": (130.0, 115.0, 0.2, 0.01),
    "sad": (105.0, 90.0, 0.08, 0.005),
    "angry": (220.0, 260.0, 0.7, 0.05),
}
#: Models trained by default: the first becomes ``default``.
DEMO_MODELS: tuple[str, ...] = ("cnn", "svm")


def write_demo_corpus(root: Path, speakers: int = 4, per_emotion: int = 4) -> Path:
    """Write a one-folder-per-emotion corpus of synthetic vowels (1 s, 16 kHz) under ``root``.

    File names are ``spk<k>_<i>.wav`` so ``speaker_from=r"(spk\\d+)"`` reads the speaker.
    """
    root.mkdir(parents=True, exist_ok=True)
    for e, (emotion, (f_start, f_end, level, vibrato)) in enumerate(DEMO_EMOTIONS.items()):
        folder = root / emotion
        folder.mkdir(exist_ok=True)
        for s in range(speakers):
            shift = 1.0 + 0.08 * (s - speakers / 2)
            for i in range(per_emotion):
                signal = synthetic_vowel(
                    1.0 + 0.1 * i,
                    f_start * shift,
                    f_end * shift,
                    vibrato_depth=vibrato,
                    level=level,
                    seed=1000 * e + 10 * s + i,
                )
                sf.write(folder / f"spk{s}_{i}.wav", signal, 16000, subtype="PCM_16")
    return root


def build_demo_checkpoints(
    out_dir: str | Path, models: Sequence[str] = DEMO_MODELS, epochs: int = 2
) -> list[Path]:
    """Train tiny models on a synthetic corpus into ``out_dir/<model>``; the first is also
    copied to ``out_dir/default``.

    Args:
        out_dir: the folder to fill (used as ``$SER_CHECKPOINTS``).
        models: registered model names (small ones: ``cnn``, ``svm``, ``cnn_lstm``, ...).
        epochs: epochs per torch model.

    Returns:
        The checkpoint folders written (``default`` first).
    """
    from ser_core.data import get_corpus_info
    from ser_core.training import TrainConfig, train

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = write_demo_corpus(Path(tmp) / "demo")
        manifest = get_corpus_info("folder").prepare(
            corpus, name="synthetic", speaker_from=r"(spk\d+)"
        )
        manifest["gender"] = manifest["speaker"].map(
            lambda s: "female" if int(str(s)[-1]) % 2 else "male"
        )
        for name in models:
            config = TrainConfig(
                model=name,
                corpora=["synthetic"],
                epochs=epochs,
                batch_size=8,
                patience=0,
                seed=0,
                progress=False,
                split_options={"test_fraction": 0.25, "val_fraction": 0.25},
            )
            result = train(config, out / name, manifest=manifest)
            written.append(result.checkpoint)
    if written:
        default = out / "default"
        if default.exists():
            shutil.rmtree(default)
        shutil.copytree(written[0], default)
        written.insert(0, default)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m ser_core.app_support.demo OUT_DIR [--models cnn svm]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--models", nargs="+", default=list(DEMO_MODELS))
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args(argv)
    for path in build_demo_checkpoints(args.out_dir, args.models, args.epochs):
        print(path)


if __name__ == "__main__":
    main()
