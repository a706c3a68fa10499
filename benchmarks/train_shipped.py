"""Train every shipped checkpoint and every cross-validation run of the benchmark, then report.

One recipe per folder, each a plain ``ser train`` command line, so any of them can also be run by
hand. Folders that already exist are skipped (``--force`` retrains them). After training, paths
are made relative to the corpus folder so nothing machine-specific is committed, the fold
sub-folders of cross-validation runs (weights of every fold) are deleted, and ``ser report``
rebuilds ``docs/benchmark.md`` and the README table.

    python benchmarks/train_shipped.py --data-root ../shared/corpora            # everything
    python benchmarks/train_shipped.py whisper_base-emodb svm-emodb --force       # some

Protocols (speaker-independent wherever the corpus allows):

* EMO-DB, 7 classes: test speakers 15 and 16 (1 m, 1 f); benchmark: leave one speaker out.
* RAVDESS, 8 classes: test actors 19-24 (3 m, 3 f); benchmark: 6 actor-grouped folds.
* TESS, 7 classes: words held out (speaker-dependent: TESS has two speakers).
* ``default``: all three corpora, 7 shared classes (RAVDESS "calm" and EMO-DB "boredom" are
  left out: no other corpus has them), each corpus held out as above (``per-corpus``).

The default model's architecture was chosen on validation UA (see ``--candidates``), never on
test results.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from ser_core.evaluation.cards import rewrite_model_card
from ser_core.scoring.predictions import load_predictions, save_predictions

EMODB_TEST = "emodb:15,emodb:16"
RAVDESS_TEST = ",".join(f"ravdess:{actor}" for actor in range(19, 25))
WHISPER_HEAD = (
    '{"layer_pooling":"per_layer","hidden":[],"dropout":0.5,"weight_decay":0.01}'  # see README
)
#: Speed perturbation (copies at ×0.9 and ×1.1) raised the mean validation UA of the per-layer
#: head from 93.5 to 95.1 (EMO-DB LOSO folds) and from 73.8 to 77.5 (RAVDESS 6 folds; ser report
#: regenerates the figures with speed copies from the committed folds).
SPEED = ["--speed-perturb", "0.9,1.1"]
#: Corpus- and class-balanced loss, early stopping on the mean per-corpus validation UA.
BALANCED = ["--balance", "corpus_class", "--select-on", "corpus_ua"]
#: One cached copy of every training clip through a room, noise, a codec and gain.
CHANNEL = ["--channel-copies", "1"]
#: Mixup (Beta(0.2, 0.2), on the pooled per-layer statistics for the frozen head) and label
#: smoothing 0.1: the small-data regularisers of issue 21, tried leave one corpus out (LOCO mean
#: 49.9 against 54.4 without, lower on six of the seven validation folds too: dropped).
MIXUP = ["--mixup", "0.2", "--label-smoothing", "0.1"]
WHISPER_PLAIN = ["--model", "whisper_base", "--model-config", WHISPER_HEAD, "--epochs", "40"]
#: The per-layer head pooling means only (no standard deviations): tried leave one corpus out.
WHISPER_MEAN = [
    *("--model", "whisper_base", "--epochs", "40", "--model-config"),
    '{"layer_pooling":"per_layer","hidden":[],"dropout":0.5,"weight_decay":0.01,"pooling":"mean"}',
]
WHISPER = [*WHISPER_PLAIN, *SPEED]
#: The per-layer head on states of the speech only: the encoder sees each clip without its
#: leading and trailing silence (``trim_db`` 40: frames 40 dB below the loudest). Silence is
#: 44 % of a RAVDESS clip and 1.5 % of a TESS clip on average (silence_share.py); pooled
#: statistics counted it.
WHISPER_TRIMMED = [
    *("--model", "whisper_base", "--epochs", "40", "--model-config"),
    json.dumps({**json.loads(WHISPER_HEAD), "trim_db": 40}, separators=(",", ":")),
]
#: The same head on the smaller packaged encoder (Whisper tiny.en: 4 layers, d_model 384).
#: Variants compared on the mean validation UA of EMO-DB's leave-one-speaker-out folds (the
#: single validation speaker of the EMO-DB split is too few to choose on): this recipe 93.4,
#: with label smoothing 0.1 92.6, with a 128-unit hidden layer 92.4 (2-3 minutes each once
#: the states are cached). Kept. On EMO-DB, the head first trained on five other corpora
#: (``whisper_tiny-five``, 5.5 minutes with the caching) and then fine-tuned: 93.9 against 93.4
#: (the ``whisper_tiny-emodb-loso*`` runs, 2 minutes each once cached): taken.
WHISPER_TINY = ["--model", "whisper_tiny", "--model-config", WHISPER_HEAD, "--epochs", "40", *SPEED]
WHISPER_ADAPTED = [*WHISPER_PLAIN, "--speaker-adapt"]  # adaptation normalises fixed features


def svm(c: str) -> list[str]:
    """The linear SVM on the ComParE functionals at regularisation ``c``."""
    model_config = f'{{"n_features":6373,"kernel":"linear","C":{c}}}'
    return [
        *("--model", "svm", "--model-config", model_config),
        *("--feature-config", '{"feature_set":"ComParE_2016"}'),
    ]


#: The SVM on the 6373 ComParE 2016 functionals (openSMILE), linear (liblinear), C = 1e-4. Chosen
#: on the validation speakers over eGeMAPS with an RBF kernel (C 0.1 / 1 / 10 / 100: EMO-DB at
#: most 62.7) and over C = 1e-5 .. 1e-1 (EMO-DB 69.1 / 76.5 / 73.3 / 73.3 / 73.3; RAVDESS 51.6 /
#: 53.1 / 50.8 at 1e-5 / 1e-4 / 1e-3): validation UA 76.5 on EMO-DB (was 61.7) and 53.1 on
#: RAVDESS (was 48.4). The linear model stores 7 × 6373 weights, not every support vector.
SVM = svm("0.0001")
#: C chosen again on the mean validation UA of the cross-validation folds (ten validation
#: speakers on EMO-DB instead of one; four actors in each of six folds on RAVDESS, instead of
#: two). The shipped splits' own validation UA no longer decides. EMO-DB leave one
#: speaker out, C = 1e-5 / 1e-4 / 1e-3 / 1e-2: 70.0 / 72.1 / 73.3 / 71.2 (an RBF kernel at C 10
#: or 100: 73.7, for a model of every support vector: not worth it). RAVDESS six actor folds,
#: C = 1e-6 / 1e-5 / 1e-4 / 1e-3: 43.5 / 49.9 / 48.3 / 45.0.
SVM_EMODB = svm("0.001")
SVM_RAVDESS = svm("0.00001")
#: The MLP on the same ComParE functionals: validation UA 68.6 -> 73.2 on EMO-DB and 59.4 ->
#: 64.8 on RAVDESS against eGeMAPS (seconds to train once the features are cached).
MLP = [
    *("--model", "mlp", "--epochs", "100", "--patience", "20", "--model-config"),
    *('{"n_features":6373}', "--feature-config", '{"feature_set":"ComParE_2016"}'),
]
#: The from-scratch seed architectures on this 2-core CPU: 40 mel bands every 20 ms (a third of
#: the default map's pixels: one EMO-DB epoch of ``cnn`` drops from about 2 minutes to 40 s),
#: 25 epochs at most, early stopping after 6 without a better validation UA.
SEED_FEATURES = ["--feature-config", '{"n_mels":40,"hop_length":320}']
SEED_BUDGET = ["--epochs", "25", "--patience", "6"]


#: A longer budget with a cosine schedule and SpecAugment: 60 epochs at most, patience 15.
SEED2_BUDGET = [
    *("--epochs", "60", "--patience", "15", "--scheduler", "cosine", "--spec-augment", "on")
]
#: (architecture, corpus) whose validation UA was higher with SEED2_BUDGET than SEED_BUDGET,
#: chosen on the validation speakers only (EMO-DB: cnn 73.8 -> 84.4, cnn_bilstm 53.7 -> 60.8,
#: cnn_bilstm_attn 47.0 -> 61.9; lstm fell, 52.1 -> 48.6, cnn_lstm 70.8 -> 63.8 and vit
#: 42.7 -> 39.5: they keep SEED_BUDGET). RAVDESS has not been compared yet.
SEED2_CHOSEN = {("cnn", "emodb"), ("cnn_bilstm", "emodb"), ("cnn_bilstm_attn", "emodb")}


#: The small-data recipe of issue 21: the same 40-band maps normalised per utterance (zero mean,
#: unit variance: an LSTM's gates and a Transformer's attention see no dB offsets), AdamW with
#: weight decay 0.05, 2 epochs of linear warm-up then a cosine schedule, SpecAugment, mixup
#: (Beta(0.2, 0.2)), label smoothing 0.1, class-weighted loss.
SEED3_FEATURES = ["--feature-config", '{"n_mels":40,"hop_length":320,"normalize":"utterance"}']
SEED3_SCHEDULE = [
    *("--scheduler", "cosine", "--warmup-epochs", "2", "--spec-augment", "on"),
    *("--optimizer", "adamw", "--weight-decay", "0.05", "--balance", "weights"),
]
SEED3_RECIPE = [*SEED3_SCHEDULE, "--label-smoothing", "0.1", "--mixup", "0.2"]
#: (architecture, corpus) → (epochs, patience) where SEED3 reached a higher validation UA than
#: the recipe shipped before (validation speakers only; old → new). Seconds per epoch with one
#: thread beside two or three other jobs, epochs run, best epoch, minutes:
#:   vit-emodb 6 s (42.7 → 51.7; 29, best 17, 4 min); vit-ravdess 19 s (20.3 → 25.8; 30,
#:   best 25, 22 min); cnn_bilstm_attn-emodb 8 s (61.9 → 87.2; 40, best 34, 6 min);
#:   cnn_bilstm_attn-ravdess 17 s (24.2 → 46.1; 30, best 23, 13 min); cnn-emodb 19 s
#:   (84.4 → 86.7, one clip of the 49; 60, best 50, 36 min); cnn_bilstm-emodb 6 s
#:   (60.8 → 71.7; 40, best 35, 5 min); cnn_lstm-emodb 16 s (70.8 → 81.6; 40, best 28, 11 min).
#: Taken by that rule, though on EMO-DB's test speakers four of the five fell (each card has
#: its figures): EMO-DB validates on one speaker (49 clips), and the best of more epochs is a
#: higher maximum of a noisy curve. Choosing on the mean validation UA of leave-one-speaker-out
#: folds would be sounder, at ten times the cost (done for whisper_tiny).
#: Not chosen: lstm-emodb (52.1 → 33.6: the LSTM underfits, and mixup and smoothing add to
#: that; without them, lr 2e-3 and 60 epochs: 41.6).
SEED3_CHOSEN: dict[tuple[str, str], tuple[int, int]] = {
    ("vit", "emodb"): (40, 12),
    ("cnn_bilstm_attn", "emodb"): (40, 12),
    ("vit", "ravdess"): (30, 10),
    ("cnn_bilstm_attn", "ravdess"): (30, 10),
    ("cnn", "emodb"): (60, 15),
    ("cnn_bilstm", "emodb"): (40, 12),
    ("cnn_lstm", "emodb"): (40, 12),
}


#: (architecture, corpus) → (epochs, patience) fine-tuned with the SEED3 recipe from the
#: architecture's ``-five`` pretraining (PRETRAINED), where that raised the validation UA over
#: the recipe shipped before (old → new; seconds per epoch with one thread beside another job):
#:   cnn_bilstm-emodb 8 s (71.7 → 83.4; 40 epochs, best 32, 5 min); vit-emodb at the ViT
#:   pretraining's rate, 3e-4 (51.7 → 60.9; 6 s, 40 epochs, best 29, 4 min; at 1e-3: 52.4);
#:   lstm-ravdess without mixup or smoothing (23.4 → 28.9; 34-64 s, 25 epochs, best 18, 14
#:   min; since replaced by the MFCC LSTM, SEED_MFCC); vit-ravdess at 3e-4
#:   (25.8 → 35.2; 9-18 s, 30 epochs, best 23, 6 min).
#: cnn_bilstm_attn-emodb fell on its one validation speaker (87.2 → 79.7, 8 s an epoch) but
#: rose on the mean of five speaker folds (63.9 → 69.5, ``cnn_bilstm_attn-emodb-5fold*``):
#: taken on the folds, the sounder measure (shipped: 13 minutes, 28 s an epoch beside another
#: job; validation 86.2). Not taken: lstm-emodb without mixup or smoothing
#: (52.1 → 50.6, 13 s an epoch); vit at lr 1e-3, the ViT pretraining's
#: failed rate (on RAVDESS its training UA stayed near chance).
#: Pretraining (validation UA pooled over the five corpora's validation speakers; seconds an
#: epoch, one thread beside another job): vit-five 40.3 (66 s), lstm-five 32.9 (150 s),
#: cnn_bilstm-five 53.6 (105 s), cnn_bilstm_attn-five 52.6 (100-195 s), whisper_tiny-five 72.0.
#: serct-five at lr 1e-3 (its waveform recipe) fell back to chance by epoch 4 (validation UA
#: 15.8 at epoch 1, 14.3 at 4), as serct-ravdess did on a longer schedule; at 3e-4: 30.5 after
#: 6 epochs (120-200 s each). mobilenet_v3-five 44.9 (46 s an epoch, 15 epochs).
#: Also fine-tuned from it: cnn_bilstm-ravdess (40.6 → 58.6; 23 s an epoch, 28 epochs, best
#: 18, 11 min), and in CHECKPOINTS mobilenet_v3-emodb and serct-emodb.
#: Weight averaging of the shipped recipes (``--ema``: validation, early stopping and the saved
#: weights use a moving average of every step's), lower on validation each time, not taken:
#: vit-emodb 60.9 -> 57.7, cnn_bilstm_attn-emodb 87.2 -> 61.1 and lstm-emodb 55.4 -> 49.0
#: (decay 0.98 at 12-24 steps an epoch), serct-ravdess 32.8 -> 28.9 (0.99). The average lags
#: the fast-moving weights of these short runs: cnn_bilstm_attn's averaged validation UA was
#: still rising at its 40th epoch (0.58-0.61 over the last five, against 0.70-0.87).
SEED4_CHOSEN: dict[tuple[str, str], tuple[int, int]] = {
    ("cnn_bilstm", "emodb"): (40, 12),
    ("cnn_bilstm_attn", "emodb"): (40, 12),
    ("vit", "emodb"): (40, 12),
    ("vit", "ravdess"): (30, 10),
    ("cnn_bilstm", "ravdess"): (30, 10),
}


#: The LSTM on 13 MFCCs with deltas, normalised per utterance (cmvn), instead of 40 log-mel
#: bands: decorrelated, smaller inputs suit its last-state summary. Validation UA, old → new:
#: lstm-emodb with SEED_BUDGET 52.1 → 55.4 (25 s an epoch beside two other jobs, 21 epochs,
#: best 15, 9 min; with SEED3_SCHEDULE and 40 epochs: 50.8); lstm-ravdess with SEED3_SCHEDULE
#: (no mixup or smoothing: the LSTM underfits with them) and 30 epochs 28.9 → 36.7 (35 s an
#: epoch, 26 epochs, best 16, 16 min; with SEED_BUDGET it stopped at epoch 8: 24.2).
MFCC_MODEL = ["--model-config", '{"features":"mfcc"}']
MFCC_FEATURES = ["--feature-config", '{"n_mfcc":13,"hop_length":320,"cmvn":true}']
#: Knowledge distillation from the shipped default (weight 0.5, T 2; ``ser_core.training.
#: _distill``): it learnt from all seven corpora but from none of these runs' validation or test
#: speakers (``ser train`` checks). Listed after ``default`` in CHECKPOINTS, so a rebuild trains
#: the teacher first. Validation UA of the split, old → new: lstm-emodb 55.4 → 69.7 (19 s an
#: epoch beside two other jobs, 24 epochs, best 18, 9 min; the LSTM overfits less: training UA
#: 0.86 at the best epoch against 0.81-0.93 around the old one), taken; with distillation
#: weight 0.8 instead of 0.5: 69.7 -> 55.1 (15 s an epoch beside another job, 25 epochs,
#: best 19, 6 min), not taken. cnn1d_lstm-emodb, taken (see CHECKPOINTS). Not taken:
#: serct-emodb, serct-ravdess and cnn1d_lstm-ravdess (see CHECKPOINTS).
DISTILL = ["--distill-from", "checkpoints/default"]
SEED_MFCC: dict[tuple[str, str], list[str]] = {
    ("lstm", "emodb"): [*SEED_BUDGET, *DISTILL],
    ("lstm", "ravdess"): ["--epochs", "30", "--patience", "10", *SEED3_SCHEDULE],
}


#: (architecture, corpus) in SEED4_CHOSEN fine-tuned from a longer pretraining than the
#: architecture's ``-five``, chosen on the mean validation UA of EMO-DB's five speaker folds:
#: vit-emodb from vit-five30 (30 epochs, validation UA 48.6 against vit-five's 40.3; 45 min
#: beside another job) 56.5 -> 57.7 (``vit-emodb-5fold-pretrained*``; higher on two folds,
#: equal on one, lower on two: a small gain, taken by the rule); vit-ravdess from vit-five30
#: on its split's validation actors 35.2 -> 39.1 (18 s an epoch beside two other jobs, best
#: epoch 22 of 30, 10 min), taken.
LONGER_PRETRAINING = {("vit", "emodb"): "vit-five30", ("vit", "ravdess"): "vit-five30"}


def seed3(model: str, epochs: int, patience: int) -> list[str]:
    """The SEED3 small-data recipe of a seed architecture, from scratch, for ``epochs``."""
    budget = ["--epochs", str(epochs), "--patience", str(patience), *SEED3_RECIPE]
    return ["--model", model, *SEED3_FEATURES, *budget]


def finetuned(model: str, epochs: int, patience: int, pretraining: str) -> list[str]:
    """SEED3 fine-tuned from the folder ``pretraining`` (PRETRAINED), at its learning rate."""
    recipe = seed3(model, epochs, patience)
    if model in PRETRAIN_LR:
        recipe += ["--lr", PRETRAIN_LR[model]]
    return [*recipe, *pretrained(pretraining)]


def seed(model: str, corpus: str = "") -> list[str]:
    """The recipe of a from-scratch seed architecture on log-mel maps (for ``corpus``)."""
    if (model, corpus) in SEED_MFCC:
        return ["--model", model, *MFCC_MODEL, *MFCC_FEATURES, *SEED_MFCC[(model, corpus)]]
    if (model, corpus) in SEED4_CHOSEN:  # SEED3 fine-tuned from the model's -five pretraining
        pretraining = LONGER_PRETRAINING.get((model, corpus), f"{model}-five")
        return finetuned(model, *SEED4_CHOSEN[(model, corpus)], pretraining)
    if (model, corpus) in SEED3_CHOSEN:
        return seed3(model, *SEED3_CHOSEN[(model, corpus)])
    budget = SEED2_BUDGET if (model, corpus) in SEED2_CHOSEN else SEED_BUDGET
    return ["--model", model, *SEED_FEATURES, *budget]


#: The spectrogram-image CNNs (issue 21), CPU-sized and from scratch: no ImageNet weights install
#: offline. Same topology as the paper's networks on 64×128 images of 64 mel bands (the paper:
#: 224×224) with every channel count × ``width_mult`` (IMAGE_MODEL; vgg19 as vgg19_bn, whose
#: BatchNorm lets the 16-conv stack train from scratch). The full size stays available:
#: ``--model-config '{"width_mult":1}' --feature-config '{"height":224,"width":224}'
#: --device cuda``. BatchNorm momentum 0.1 (torchvision's MobileNetV3 0.01 collapsed every
#: eval-mode prediction to one class at a dozen steps per epoch, see models/_image.py).
IMAGE_FEATURES = ["--feature-config", '{"height":64,"width":128,"logmel":{"n_mels":64}}']
IMAGE_MODEL = {
    "mobilenet_v3": '{"pretrained":null,"width_mult":0.5}',
    "resnet50": '{"pretrained":null,"width_mult":0.25}',
    "vgg19": '{"pretrained":null,"width_mult":0.25,"batch_norm":true}',
}
#: Small-data recipe: SpecAugment, speed copies, cosine schedule, AdamW with weight decay,
#: class-weighted loss, features cached once (mixup, warm-up and label smoothing are not
#: trainer options yet).
IMAGE_BUDGET = [
    *("--scheduler", "cosine", "--spec-augment", "on", *SPEED, "--optimizer", "adamw"),
    *("--weight-decay", "0.05", "--balance", "weights"),
]


def image_cnn(model: str, epochs: int = 40, patience: int = 12) -> list[str]:
    """The recipe of a CPU-sized spectrogram-image CNN (``epochs`` sized to this CPU)."""
    budget = ["--epochs", str(epochs), "--patience", str(patience), *IMAGE_BUDGET]
    return ["--model", model, "--model-config", IMAGE_MODEL[model], *IMAGE_FEATURES, *budget]


#: The raw-waveform seed models (issue 21), CPU-sized and from scratch, same topology as their
#: papers' networks (the full sizes stay available with ``--device cuda``, see the model cards):
#: cnn1d_lstm with every conv block and the LSTM at half width (32, 32, 64, 64 filters, 128
#: LSTM units; Zhao et al.: 64, 64, 128, 128 and 256); serct with a 32-channel conv front end
#: (thesis: 512), Transformer width 96, FFN 192, 2 layers of 4 deformable heads (thesis: 1024,
#: 512, 4 × 8). One 3 s training step of 32 clips, one thread: cnn1d_lstm 6.2 s at full width,
#: 2.6 s at half; serct 4.0 s with 64 channels and width 128, 1.7 s as shipped.
WAVEFORM_MODEL = {
    "cnn1d_lstm": '{"channels":[32,32,64,64],"lstm_hidden":128}',
    "serct": '{"conv_channels":32,"d_model":96,"ffn_dim":192,"num_layers":2,"num_heads":4}',
}
#: Small-data recipe: random 3 s crops, AdamW (lr 1e-3, weight decay 0.01) with a cosine
#: schedule, class-weighted loss, batches of 16 (twice the updates per epoch).
WAVEFORM_BUDGET = [
    *("--max-train-seconds", "3", "--optimizer", "adamw", "--lr", "0.001", "--weight-decay"),
    *("0.01", "--scheduler", "cosine", "--balance", "weights", "--batch-size", "16"),
]


def waveform(model: str, epochs: int, patience: int, lr: str = "0.001") -> list[str]:
    """The recipe of a CPU-sized raw-waveform seed model (``epochs`` sized to this CPU)."""
    budget = ["--epochs", str(epochs), "--patience", str(patience), *WAVEFORM_BUDGET]
    budget[budget.index("--lr") + 1] = lr
    return ["--model", model, "--model-config", WAVEFORM_MODEL[model], *budget]


#: Pretraining for the from-scratch seeds (issue 21): EMO-DB's 400-odd training clips (and
#: RAVDESS's 1000) are too few for a Transformer or an LSTM learnt from nothing. Each seed is
#: first trained on five other corpora, neither EMO-DB nor RAVDESS (TESS, EMOVO, CASIA, AESDD,
#: nEMO: four languages; their own test speakers left out, early stopping on the mean of their
#: validation UAs), then fine-tuned with ``--init-from`` on the target corpus's training
#: speakers: no EMO-DB or RAVDESS speaker is ever seen before fine-tuning. The output rows of the
#: labels both share are kept; boredom (EMO-DB) and calm (RAVDESS) start fresh.
PRETRAIN_CORPORA = ("tess", "emovo", "casia", "aesdd", "nemo")
FIVE = [
    *(arg for corpus in PRETRAIN_CORPORA for arg in ("--corpus", corpus)),
    *("--protocol", "per-corpus", "--labels", "shared7", "--no-test-eval"),
    *("--balance", "corpus_class", "--select-on", "corpus_ua"),
]
PRETRAIN_RECIPE = [
    *("--scheduler", "cosine", "--warmup-epochs", "1", "--spec-augment", "on"),
    *("--optimizer", "adamw", "--weight-decay", "0.05", "--label-smoothing", "0.1"),
]
#: pretraining folder (``benchmarks/pretrained/``, git-ignored, rebuilt on demand) → arguments.
#: Learning rates: at 1e-3 the ViT stayed at chance for six epochs (train UA 14.5 %) and ended
#: at a validation UA of 22.9 after 12 (66 s an epoch, one thread).
PRETRAIN_LR = {"vit": "0.0003"}
PRETRAINED: dict[str, list[str]] = {
    **{
        f"{m}-five": [
            *("--model", m, *SEED3_FEATURES, "--epochs", "12", "--patience", "5"),
            *(("--lr", PRETRAIN_LR[m]) if m in PRETRAIN_LR else ()),
            *(*PRETRAIN_RECIPE, *FIVE),
        ]
        for m in ("vit", "lstm", "cnn_bilstm_attn", "cnn_bilstm")
    },
    # The per-layer head on the frozen tiny.en encoder (WHISPER_TINY's, without speed copies).
    "whisper_tiny-five": [
        *("--model", "whisper_tiny", "--model-config", WHISPER_HEAD, "--epochs", "40", *FIVE)
    ],
    # The per-layer head on the frozen multilingual base encoder (WHISPER's, without speed
    # copies), for the in-corpus EMO-DB and RAVDESS cross-validation of issue 20.
    "whisper_base-five": [*WHISPER_PLAIN, *FIVE],
    # The raw-waveform SERCT (3 s crops): at most 60 clips per speaker and emotion (TESS's
    # 2 800 become 840) to fit 6 epochs in under 20 minutes.
    "serct-five": [
        # FIVE's --balance corpus_class comes last and replaces the recipe's class weights.
        *(*waveform("serct", 6, 3, "0.0003"), "--warmup-epochs", "1", "--max-files", "60", *FIVE),
    ],
    # Longer pretrainings: the shipped ones stopped while validation UA was still climbing
    # (vit-five 30.3 -> 41.4 over its last six epochs; serct-five 22.7 -> 30.5 over four).
    "vit-five30": [
        *("--model", "vit", *SEED3_FEATURES, "--epochs", "30", "--patience", "8"),
        *("--lr", PRETRAIN_LR["vit"], *PRETRAIN_RECIPE, *FIVE),
    ],
    "serct-five10": [
        *(*waveform("serct", 10, 4, "0.0003"), "--warmup-epochs", "1", "--max-files", "60", *FIVE),
    ],
    "cnn1d_lstm-five": [
        *(*waveform("cnn1d_lstm", 5, 3), "--warmup-epochs", "1", "--max-files", "60", *FIVE),
    ],
    "cnn1d_lstm-five10": [
        *(*waveform("cnn1d_lstm", 10, 4), "--warmup-epochs", "1", "--max-files", "60", *FIVE),
    ],
    # The MLP on ComParE functionals (MLP's recipe), for mlp-emodb and mlp-ravdess.
    "mlp-five": [*MLP, *FIVE],
    "mobilenet_v3-five": [
        *("--model", "mobilenet_v3", "--model-config", IMAGE_MODEL["mobilenet_v3"]),
        *(*IMAGE_FEATURES, "--epochs", "15", "--patience", "5", *PRETRAIN_RECIPE, *FIVE),
    ],
}
PRETRAINED_DIR = Path("benchmarks/pretrained")


def pretrained(name: str) -> list[str]:
    """``--init-from`` the pretraining folder ``name`` (trained first when missing)."""
    return ["--init-from", str(PRETRAINED_DIR / name)]


EMODB = ["--corpus", "emodb", "--protocol", "speaker-holdout", "--test-speakers", EMODB_TEST]
RAVDESS = ["--corpus", "ravdess", "--protocol", "speaker-holdout", "--test-speakers", RAVDESS_TEST]
TESS = ["--corpus", "tess", "--protocol", "text-holdout"]
ALL = [
    *("--corpus", "emodb", "--corpus", "ravdess", "--corpus", "tess"),
    *("--protocol", "per-corpus", "--labels", "shared7"),
    *("--test-speakers", f"{EMODB_TEST},{RAVDESS_TEST}"),
]
#: The seven corpora (six languages) of the multilingual ``default``.
SEVEN = ("emodb", "ravdess", "tess", "emovo", "casia", "aesdd", "nemo")
ALL7 = [
    *(arg for corpus in SEVEN for arg in ("--corpus", corpus)),
    *("--protocol", "per-corpus", "--labels", "shared7"),
    *("--test-speakers", f"{EMODB_TEST},{RAVDESS_TEST}"),
]
#: Leave one corpus out over the seven: the recipe of ``default`` judged on corpora it never saw.
LOCO7 = [
    *(arg for corpus in SEVEN for arg in ("--corpus", corpus)),
    *("--protocol", "loco", "--all-folds", "--labels", "shared7"),
]
EMODB_LOSO = ["--corpus", "emodb", "--protocol", "loso", "--all-folds"]


def with_the_other_six(corpus: str) -> list[str]:
    """Every clip of the six corpora other than ``corpus`` in each fold's training set."""
    return [arg for other in SEVEN if other != corpus for arg in ("--train-also", other)]


#: The shipped default's recipe without its data: the frozen per-layer head with speed copies
#: and weight averaging. In-corpus (default-emodb-loso, default-ravdess-6fold) the other six
#: corpora join every fold's training, as the default has them, with every label of the seven
#: (RAVDESS keeps calm, EMO-DB boredom); each test fold is scored over its corpus's own classes.
DEFAULT_RECIPE = [*WHISPER_PLAIN, *SPEED, "--ema", "0.995"]
#: The same on states of the speech only (tried leave one corpus out, not shipped).
TRIMMED_RECIPE = [*WHISPER_TRIMMED, *SPEED, "--ema", "0.995"]
#: Five folds of two speakers: a sounder choice between seed recipes than the split's one
#: validation speaker, at five times the cost (LOSO: ten).
EMODB_5FOLD = ["--corpus", "emodb", "--protocol", "kfold-speaker", "--k", "5", "--all-folds"]
RAVDESS_6FOLD = ["--corpus", "ravdess", "--protocol", "kfold-speaker", "--k", "6", "--all-folds"]

#: folder → ``ser train`` arguments. ``checkpoints/`` holds the shipped models.
CHECKPOINTS: dict[str, list[str]] = {
    # Chosen on the leave-one-corpus-out mean (the default-loco* runs), never on test sets:
    # speed copies with weight averaging (default-loco-speed-ema995), LOCO mean 54.4 -> 55.9,
    # validation mean 70.7 -> 73.5. Shipped: 414 s with the states cached (30 epochs of 4 s;
    # validation UA of its split 71.4 -> 75.5).
    "default": [*DEFAULT_RECIPE, *ALL7],
    "whisper_base-emodb": [*WHISPER, *pretrained("whisper_base-five"), *EMODB],
    "whisper_base-ravdess": [*WHISPER, *RAVDESS],
    "whisper_base-tess": [*WHISPER, *TESS],
    "whisper_tiny-emodb": [*WHISPER_TINY, *pretrained("whisper_tiny-five"), *EMODB],
    "whisper_tiny-ravdess": [*WHISPER_TINY, *RAVDESS],
    # speaker-adapted (needs an enrolment; reported apart)
    "whisper_base-emodb-adapted": [*WHISPER_ADAPTED, *EMODB],
    "whisper_base-ravdess-adapted": [*WHISPER_ADAPTED, *RAVDESS],
    "svm-emodb": [*SVM_EMODB, *EMODB],
    "svm-ravdess": [*SVM_RAVDESS, *RAVDESS],
    "svm-tess": [*SVM, *TESS],
    # Fine-tuned from mlp-five (PRETRAINED: ComParE of the five other corpora, validation UA
    # 60.1, 6 minutes with the feature extraction): mean validation UA of EMO-DB's LOSO folds
    # 81.2 -> 83.9 (mlp-emodb-loso*, under 2 minutes each), taken; of RAVDESS's 6 folds
    # 60.0 -> 59.3 (mlp-ravdess-6fold*), not taken.
    "mlp-emodb": [*MLP, *pretrained("mlp-five"), *EMODB],
    "mlp-ravdess": [*MLP, *RAVDESS],
    "mlp-tess": [*MLP, *TESS],
    **{
        f"{m}-emodb": [*seed(m, "emodb"), *EMODB]
        for m in ("cnn", "lstm", "cnn_lstm", "cnn_bilstm", "cnn_bilstm_attn", "vit")
    },
    **{
        f"{m}-ravdess": [*seed(m, "ravdess"), *RAVDESS]
        for m in ("cnn", "lstm", "cnn_lstm", "cnn_bilstm", "cnn_bilstm_attn", "vit")
    },
    "lstm-tess": [*seed("lstm"), *TESS],
    # Image CNNs, one torch thread on this 2-core CPU (seconds per epoch with the speed copies):
    # mobilenet_v3-emodb 9 s (21 epochs, 4 min; running all 40 kept the same epoch 9 on
    # validation); mobilenet_v3-ravdess 38 s measured, 12-57 s with the other trainings (30
    # epochs at most to stay under 20 min; 23 run, 8 min).
    # With mixup 0.2, label smoothing 0.1 and 2 warm-up epochs added: validation UA 57.7 -> 53.6
    # (3 min), not taken.
    # Fine-tuned from mobilenet_v3-five (PRETRAINED): validation UA 57.7 -> 64.2 (10 s an
    # epoch beside another job, 28 epochs, best 16, 4 min).
    "mobilenet_v3-emodb": [*image_cnn("mobilenet_v3"), *pretrained("mobilenet_v3-five"), *EMODB],
    "mobilenet_v3-ravdess": [*image_cnn("mobilenet_v3", 30, 10), *RAVDESS],
    # resnet50-emodb 5 s (37 epochs, 5 min); vgg19-emodb 12 s (32 epochs, 7 min).
    "resnet50-emodb": [*image_cnn("resnet50"), *EMODB],
    "vgg19-emodb": [*image_cnn("vgg19"), *EMODB],
    # resnet50-ravdess 18 s (21 epochs, 6 min); vgg19-ravdess 43 s (30 epochs, 22 min).
    "resnet50-ravdess": [*image_cnn("resnet50", 30, 10), *RAVDESS],
    # With mixup 0.2, label smoothing 0.1 and 2 warm-up epochs added: validation UA 62.5 ->
    # 60.9 (30 s an epoch beside two other jobs), not taken.
    "vgg19-ravdess": [*image_cnn("vgg19", 30, 10), *RAVDESS],
    # Raw-waveform models, one torch thread (seconds per EMO-DB epoch, 3 s crops): cnn1d_lstm
    # 35 s, serct 23 s on a quiet machine, about twice that beside two other trainings
    # (budgets sized to 25 minutes under that load). Measured beside them: cnn1d_lstm-emodb
    # 57 s (24 epochs, 23 min; best epoch 22, still improving), serct-emodb 31 s (36 epochs,
    # 18 min; best epoch 25).
    # 40 epochs with 2 of warm-up raised its validation UA from 65.2 to 70.3 (25 s an epoch
    # beside two other jobs, best epoch 29, 17 min); its test UA fell (see the card).
    # Fine-tuned from cnn1d_lstm-five (PRETRAINED; its validation UA 28.4 after 5 epochs of
    # 245 s, 20 min): 70.3 -> 73.7 (26 s an epoch beside another job, 36 epochs, best 34, 18 min).
    # From cnn1d_lstm-five10 (10 epochs of 250-410 s beside two or three other jobs, 54 min;
    # validation UA 31.9 against 28.4): 73.7 -> 74.4 (30-100 s an epoch beside two or three
    # other jobs, 32 epochs, best 20, 31 min), taken by the rule though it is less than one
    # clip of the 49 (its test UA fell from 45.6 to 43.4). That distilled from the shipped
    # default (DISTILL): 74.4 -> 84.7 (39-52 s an epoch beside another job, 31 epochs, best 19,
    # 26 min), taken.
    "cnn1d_lstm-emodb": [
        *(*waveform("cnn1d_lstm", 40, 12), "--warmup-epochs", "2"),
        *(*pretrained("cnn1d_lstm-five10"), *DISTILL, *EMODB),
    ],
    # Fine-tuned from serct-five (PRETRAINED) at its rate, 3e-4: validation UA 56.4 -> 62.0
    # (13 s an epoch, 22 epochs, best 10, 5 min). The same distilled from the shipped default
    # (``--distill-from checkpoints/default``, weight 0.5, T 2): 62.0 -> 58.9 (16 s an epoch
    # beside another job, 33 epochs, best 21, 9 min; training UA 0.60 at the end), not taken.
    # From scratch with wav2vec 2.0 BASE's channel norm (``conv_norm`` group, which keeps the
    # loudness contour the LayerNorm hides): best validation UA 44.4 in 23 epochs against
    # 56.4 with the LayerNorm from scratch (20 s an epoch beside two other jobs), stopped.
    "serct-emodb": [*waveform("serct", 36, 12, "0.0003"), *pretrained("serct-five"), *EMODB],
    # RAVDESS epochs beside three other trainings (25 minutes at most): serct-ravdess 125 s
    # in the one-epoch trial, 85 s in the run (11 epochs, 16 min; best epoch 9, still
    # improving); cnn1d_lstm-ravdess 182 s in the trial, 108 s in a 7-epoch run (13 min;
    # validation UA 20.3), 49 s once the machine was quieter (12 epochs, 10 min; best epoch 9,
    # validation UA 32.0: kept).
    # 22 epochs with 1 of warm-up (the cosine then keeps lr near 1e-3 longer): training
    # collapsed to one class from epoch 5 (validation UA 19.5 at epoch 3; 35 s an epoch on a
    # quieter machine); not taken.
    # Fine-tuned from serct-five at 3e-4: validation UA 27.3 -> 26.6 (47-70 s an epoch, 13
    # min), not taken. From scratch at 3e-4 with 1 warm-up epoch, 20 epochs: 27.3 -> 32.8
    # (36-61 s an epoch beside another job, best 12, 14 min; training UA still rising), taken.
    # The same with 30 epochs (patience 10; the cosine decays more slowly): 28.1, best epoch
    # 10, stopped at 20 (22-48 s an epoch, 18 min), not taken. This recipe fine-tuned from
    # serct-five (``--init-from``): 29.7 against 32.8, best epoch 12 (36-85 s an epoch beside
    # another job, 23 min), not taken.
    # With wav2vec 2.0 BASE's channel norm (``conv_norm`` group): 32.8 -> 25.8, best epoch 12
    # of 20 (39-61 s an epoch beside two other jobs, 16 min), not taken. Distilled from the
    # shipped default (``--distill-from``, weight 0.5, T 2): 32.8 -> 22.7, best epoch 13 (42-58
    # s an epoch beside another job, 17 min), not taken: for a model that underfits (training
    # UA 0.36 at its last epoch as shipped) the soft targets did not help. At lr 5e-4 with 2
    # warm-up epochs: validation UA 32.8 again (best epoch 8, stopped at 16; 37 s an epoch
    # beside another job, 10 min), so the shipped recipe stays.
    "serct-ravdess": [*waveform("serct", 20, 8, "0.0003"), "--warmup-epochs", "1", *RAVDESS],
    # 24 epochs with 1 of warm-up: validation UA 32.0 -> 38.3 (47 s an epoch beside one other
    # job, best epoch 19, 19 min).
    # Fine-tuned from cnn1d_lstm-five with this recipe: validation UA 38.3 -> 37.5 (75-107 s
    # an epoch beside other jobs, 18 epochs, best 10, 24 min), not taken. From cnn1d_lstm-five10:
    # stopped after 4 epochs (validation UA 25.8 at best; 133-155 s an epoch beside three other
    # jobs, too slow for the session). Distilled from the shipped default (DISTILL): best
    # validation UA 21.9 at epoch 9 against 38.3, stopped after 14 epochs (84-112 s an epoch
    # beside another job, 24 min), not taken.
    "cnn1d_lstm-ravdess": [*waveform("cnn1d_lstm", 24, 8), "--warmup-epochs", "1", *RAVDESS],
}

#: folder → arguments of the cross-validation runs in ``benchmarks/results/``.
CROSS_VALIDATION: dict[str, list[str]] = {
    # The default's recipe, and what was tried beside it, leave one corpus out (seven corpora).
    "default-loco": [*WHISPER_PLAIN, *LOCO7],
    "default-loco-balanced": [*WHISPER_PLAIN, *LOCO7, *BALANCED],
    "default-loco-balanced-channel": [*WHISPER_PLAIN, *LOCO7, *BALANCED, *CHANNEL],
    "default-loco-channel": [*WHISPER_PLAIN, *LOCO7, *CHANNEL],
    "default-loco-mean": [*WHISPER_MEAN, *LOCO7],
    "default-loco-mixup": [*WHISPER_PLAIN, *LOCO7, *MIXUP],
    # Speed copies (x0.9, x1.1; 40 minutes with their caching): LOCO mean 54.4 -> 52.5, so not
    # taken, though the validation mean rose (70.7 -> 72.5) and so did the lowest corpus (CASIA
    # 36.8 -> 40.8; TESS is lowest now at 42.7): better on four corpora, worse on EMO-DB,
    # RAVDESS and TESS.
    "default-loco-speed": [*WHISPER_PLAIN, *LOCO7, *SPEED],
    # Weight averaging (--ema, per step; about 220 steps an epoch; 5 minutes each with the
    # states cached): decay 0.998 LOCO mean 54.4 -> 53.9, 0.995 -> 54.2, so not taken, though
    # the validation mean rose (70.7 -> 71.7, 71.9) and six of the seven held-out corpora
    # gained (AESDD 59.6 -> 68.0, 69.1; the lowest, CASIA, 36.8 -> 37.8, 38.0): TESS fell from
    # 57.8 to 37.6 and 42.2.
    "default-loco-ema": [*WHISPER_PLAIN, *LOCO7, "--ema", "0.998"],
    "default-loco-ema995": [*WHISPER_PLAIN, *LOCO7, "--ema", "0.995"],
    # Both together (20 minutes, states cached): LOCO mean 54.4 -> 55.9, validation mean
    # 70.7 -> 73.5, lowest corpus CASIA 36.8 -> 40.3 (TESS 57.8 -> 56.4, nEMO 45.1 -> 42.9):
    # the shipped default's recipe since.
    "default-loco-speed-ema995": [*DEFAULT_RECIPE, *LOCO7],
    # The shipped recipe on states of the speech only (WHISPER_TRIMMED; 30 min to cache the
    # trimmed states of the 8685 clips and their speed copies with two processes, 10 min to
    # train): LOCO mean 55.9 -> 55.5, so not taken, though five of the seven held-out corpora
    # rose (EMO-DB 81.9 -> 86.0, EMOVO 45.6 -> 47.6, AESDD 65.8 -> 67.4, nEMO 42.9 -> 43.8,
    # CASIA 40.3 -> 40.7; RAVDESS 58.6 -> 58.0) and the validation mean too (73.5 -> 73.7):
    # TESS fell from 56.4 to 45.3 (TESS swings most between recipes: 37.6 to 57.8 above).
    # The linear probe of loco_fusion.py on the cached untrimmed states pooled over the speech
    # span only had given 52.8 -> 54.0.
    "default-loco-trimmed": [*TRIMMED_RECIPE, *LOCO7],
    # Both again with another seed (initialisation, batch order; 17 min each, one thread
    # beside the other): how much of a difference between recipes the seed alone makes.
    # LOCO mean 55.9 -> 53.8 for the shipped recipe (TESS 56.4 -> 38.8, AESDD 65.8 -> 70.3),
    # 55.5 -> 54.8 trimmed; validation mean 73.5 -> 70.3 and 73.7 -> 69.1. Over the two seeds
    # the recipes are level (LOCO 54.9 and 55.2, validation 71.9 and 71.4): the seed moves a
    # single run's LOCO mean by two points, more than trimming does, so the default stays.
    # A third seed of the shipped recipe (17 min): LOCO mean 52.2 (TESS 37.5, CASIA 35.8),
    # validation 73.4; over the three seeds 54.0, of which the shipped seed's 55.9 is the best.
    "default-loco-speed-ema995-seed1": [*DEFAULT_RECIPE, *LOCO7, "--seed", "1"],
    "default-loco-speed-ema995-seed2": [*DEFAULT_RECIPE, *LOCO7, "--seed", "2"],
    "default-loco-trimmed-seed1": [*TRIMMED_RECIPE, *LOCO7, "--seed", "1"],
    # The default's recipe in-corpus (one thread, states cached; about 3.5 min a fold beside
    # another job): EMO-DB LOSO pooled UA 89.2 (mean validation 91.9; 40 min), RAVDESS 6 folds
    # 72.6 (75.5; 29 min), against 91.9 / 95.1 and 73.2 / 77.5 for the one-corpus heads.
    "default-emodb-loso": [*DEFAULT_RECIPE, *EMODB_LOSO, *with_the_other_six("emodb")],
    "default-ravdess-6fold": [*DEFAULT_RECIPE, *RAVDESS_6FOLD, *with_the_other_six("ravdess")],
    "whisper_base-emodb-loso": [*WHISPER, *EMODB_LOSO],
    "whisper_tiny-emodb-loso": [*WHISPER_TINY, *EMODB_LOSO],
    "whisper_tiny-emodb-loso-pretrained": [
        *(*WHISPER_TINY, *pretrained("whisper_tiny-five"), *EMODB_LOSO)
    ],
    # The head first trained on five other corpora (whisper_base-five, 2 minutes once the
    # states are cached; its validation UA 70.3), then fine-tuned fold by fold: mean validation
    # UA 95.1 -> 95.9 on EMO-DB's LOSO folds (5 min), taken for whisper_base-emodb; 77.5 ->
    # 76.8 on RAVDESS's 6 folds (9 min), not taken.
    "whisper_base-emodb-loso-pretrained": [
        *(*WHISPER, *pretrained("whisper_base-five"), *EMODB_LOSO)
    ],
    "whisper_base-ravdess-6fold-pretrained": [
        *(*WHISPER, *pretrained("whisper_base-five"), *RAVDESS_6FOLD)
    ],
    # With --balance weights (RAVDESS has half as many neutral clips): mean validation UA 77.5
    # -> 76.9 over the 6 folds (5 min), not taken.
    "whisper_base-ravdess-6fold": [*WHISPER, *RAVDESS_6FOLD],
    # On states of the speech only (WHISPER_TRIMMED; 5 min once cached): mean validation UA
    # 77.5 -> 75.5 over the 6 folds, not taken.
    "whisper_base-ravdess-6fold-trimmed": [*WHISPER_TRIMMED, *SPEED, *RAVDESS_6FOLD],
    # The default's weight averaging (--ema 0.995; about 90 steps an epoch): mean validation
    # UA 77.5 -> 77.0 over the 6 folds (4 min, states cached), not taken.
    "whisper_base-ravdess-6fold-ema995": [*WHISPER, *RAVDESS_6FOLD, "--ema", "0.995"],
    # With the default's weight averaging (--ema 0.995): mean validation UA over EMO-DB's
    # LOSO folds 95.8 -> 95.0 (3 min, states cached), not taken.
    "whisper_base-emodb-loso-pretrained-ema995": [
        *(*WHISPER, *pretrained("whisper_base-five"), *EMODB_LOSO, "--ema", "0.995")
    ],
    "whisper_base-emodb-loso-adapted": [*WHISPER_ADAPTED, *EMODB_LOSO],
    "svm-emodb-loso": [*SVM_EMODB, *EMODB_LOSO],
    "svm-ravdess-6fold": [*SVM_RAVDESS, *RAVDESS_6FOLD],
    # cnn_bilstm_attn-emodb from scratch (SEED3) or fine-tuned from cnn_bilstm_attn-five
    # (SEED4): mean validation UA of the five folds 63.9 -> 69.5 (higher on four), so the
    # fine-tuned recipe ships (27 minutes each, one thread beside the other).
    "cnn_bilstm_attn-emodb-5fold": [*seed3("cnn_bilstm_attn", 40, 12), *EMODB_5FOLD],
    "cnn_bilstm_attn-emodb-5fold-pretrained": [*seed("cnn_bilstm_attn", "emodb"), *EMODB_5FOLD],
    # vit-emodb, the same check: from scratch 41.4, fine-tuned from vit-five (as shipped) 56.5
    # (pooled test 35.5 and 48.1; 10 and 15 minutes, one thread each, side by side): the
    # shipped recipe stands.
    "vit-emodb-5fold": [*seed3("vit", 40, 12), *EMODB_5FOLD],
    "vit-emodb-5fold-pretrained": [*finetuned("vit", 40, 12, "vit-five"), *EMODB_5FOLD],
    # Fine-tuning from a longer pretraining (vit-five30, serct-five10) against the shipped one:
    # vit 56.5 -> 57.7 (taken, see LONGER_PRETRAINING); serct-emodb 56.4 with serct-five (as
    # shipped) against 54.4 with serct-five10 (10 epochs of 175-280 s, validation UA 31.8
    # against 30.3): the shipped recipe stands (5 folds: 13-19 s an epoch, 25-35 min a run).
    "vit-emodb-5fold-pretrained30": [*finetuned("vit", 40, 12, "vit-five30"), *EMODB_5FOLD],
    "serct-emodb-5fold-pretrained": [
        *(*waveform("serct", 36, 12, "0.0003"), *pretrained("serct-five"), *EMODB_5FOLD)
    ],
    "serct-emodb-5fold-pretrained10": [
        *(*waveform("serct", 36, 12, "0.0003"), *pretrained("serct-five10"), *EMODB_5FOLD)
    ],
    "mlp-emodb-loso": [*MLP, *EMODB_LOSO],
    "mlp-emodb-loso-pretrained": [*MLP, *pretrained("mlp-five"), *EMODB_LOSO],
    "mlp-ravdess-6fold": [*MLP, *RAVDESS_6FOLD],
    "mlp-ravdess-6fold-pretrained": [*MLP, *pretrained("mlp-five"), *RAVDESS_6FOLD],
}

#: checkpoint → the leave-one-corpus-out run of its recipe, shown in its model card.
GENERALISATION: dict[str, str] = {"default": "default-loco-speed-ema995"}

#: Candidates for ``default``, compared on the validation UA of the same seven-corpus
#: per-corpus split (the test speakers are never used to choose). The weighted-sum head (the
#: SUPERB default) is left out: it projects every frame before pooling, about 2 minutes per
#: epoch on three corpora with one thread, against seconds for the per-layer head, and on
#: EMO-DB alone it reached a lower validation UA (90.8 vs 94.4).
#: ``whisper_base-finetune1`` trains the top encoder layer and the per-layer head on cached
#: states of layer 5 (``finetune_from_cache``; 3 s crops, 4 epochs: ~8 minutes an epoch here).
#: On the RAVDESS split (actors 19-24 held out, no speed copies, 8 epochs of 48 s) the same
#: reached validation UA 65.6 against 82.8 for the frozen head (whisper_base-ravdess): the top
#: layer overfits 1000 clips within a few epochs (training loss 0.11). Not pursued.
WHISPER_FINETUNE1 = [
    *("--model", "whisper_base", "--epochs", "4", "--max-train-seconds", "3", "--model-config"),
    '{"layer_pooling":"per_layer","hidden":[],"dropout":0.5,"weight_decay":0.01,'
    '"finetune_layers":1,"finetune_from_cache":true}',
]
#: ``whisper_base-attentive``: the SUPERB head (learned layer weights, projection) with
#: attentive statistics pooling over the frames (Okabe et al. 2018); it reads every frame of
#: every layer each epoch (8 minutes an epoch here beside other jobs), so 3 epochs.
WHISPER_ATTENTIVE = [
    *("--model", "whisper_base", "--epochs", "3", "--model-config"),
    '{"layer_pooling":"weighted_sum","pooling":"attentive_stats"}',
]
CANDIDATES: dict[str, list[str]] = {
    "whisper_base-per_layer": [*WHISPER_PLAIN, *ALL7],
    "whisper_base-finetune1": [*WHISPER_FINETUNE1, *ALL7],
    "whisper_base-attentive": [*WHISPER_ATTENTIVE, *ALL7],
    # The same, 6 epochs (it was still improving at its third): its validation UA peaked at
    # epoch 3 and fell after (70.1, 69.4, 68.5, 68.2; 2-3 minutes an epoch, one thread).
    "whisper_base-attentive6": [*WHISPER_ATTENTIVE, "--epochs", "6", *ALL7],
}


def _relative_paths(folder: Path, data_root: Path) -> None:
    """Predictions and configs name files relative to the corpus folder, not this machine."""
    root = str(data_root.resolve())
    for parquet in folder.rglob("predictions.parquet"):
        frame = load_predictions(parquet)
        frame["path"] = [
            os.path.relpath(p, root) if str(p).startswith(root) else p for p in frame["path"]
        ]
        save_predictions(frame, parquet)
    for name in ("config.json", "train_config.json"):
        for path in folder.rglob(name):
            data = json.loads(path.read_text(encoding="utf-8"))
            for holder in (data, data.get("data", {}), data.get("training", {})):
                if isinstance(holder, dict) and holder.get("data_root"):
                    holder["data_root"] = None  # pass --data-root or set SER_CORPORA
            path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _run(name: str, args: list[str], out: Path, data_root: Path, threads: int) -> float:
    if "--init-from" in args:  # a fine-tuning recipe: its pretraining first, when missing
        source = Path(args[args.index("--init-from") + 1])
        if not (source / "model.safetensors").exists():
            _run(source.name, PRETRAINED[source.name], source, data_root, threads)
            _relative_paths(source, data_root)
    command = [
        "ser", "train", *args, "--data-root", str(data_root), "--out", str(out),
        "--num-threads", str(threads), "--no-progress",
    ]  # fmt: skip
    print(f"[{name}] {' '.join(command)}", flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def _check_recipe(folder: Path, recipe: list[str]) -> None:
    """Refuse to adopt a folder whose training settings differ from the recipe's."""
    from ser_core.cli import build_parser, train_config_from_args
    from ser_core.training import TrainConfig

    parsed = build_parser().parse_args(["train", *recipe, "--out", "x"])
    wanted = train_config_from_args(parsed).to_dict()
    found = TrainConfig.load(folder / "train_config.json").to_dict()  # defaults filled in
    ignored = {"data_root", "num_threads", "progress", "device"}
    diff = sorted(k for k in wanted if k not in ignored and wanted[k] != found.get(k))
    if diff:
        sys.exit(f"{folder} was not trained with this recipe: {', '.join(diff)} differ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="folders to train (default: all)")
    parser.add_argument("--data-root", type=Path, default=Path(os.environ.get("SER_CORPORA", "")))
    parser.add_argument("--checkpoints", type=Path, default=Path("checkpoints"))
    parser.add_argument("--results", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--force", action="store_true", help="retrain existing folders")
    parser.add_argument(
        "--adopt",
        type=Path,
        help="take a folder trained by hand with exactly the recipe's arguments (named as the "
        "recipe) instead of training it; it is post-processed like a fresh run",
    )
    parser.add_argument("--no-report", action="store_true", help="skip `ser report` at the end")
    parser.add_argument(
        "--candidates", action="store_true", help="compare the default model's candidates"
    )
    args = parser.parse_args()
    if not args.data_root.is_dir():
        sys.exit("pass --data-root DIR (the folder holding emodb/, ravdess/, tess/)")
    if args.candidates:
        rows = []
        for name, recipe in CANDIDATES.items():
            out = Path("/tmp/ser-default-candidates") / name
            if args.force or not out.exists():
                _run(name, recipe, out, args.data_root, args.threads)
            metrics = json.loads((out / "config.json").read_text())["metrics"]
            rows.append({"candidate": name, "val_ua": metrics["val"]["ua"]})
        table = pd.DataFrame(rows).sort_values("val_ua", ascending=False).to_string(index=False)
        header = (
            "# python benchmarks/train_shipped.py --candidates --data-root ../shared/corpora\n"
            "# validation UA of the seven-corpus per-corpus split (shared7); the test sets were "
            "not used to choose\n"
        )
        (args.results / "default-candidates.txt").write_text(header + table + "\n")
        print(table)
        return
    jobs = {
        **{n: (a, args.checkpoints / n) for n, a in CHECKPOINTS.items()},
        **{n: (a, args.results / n) for n, a in CROSS_VALIDATION.items()},
        **{n: (a, PRETRAINED_DIR / n) for n, a in PRETRAINED.items()},
    }
    unknown = sorted(set(args.names) - set(jobs))
    if unknown:
        sys.exit(f"unknown: {', '.join(unknown)}; choose from {', '.join(jobs)}")
    for name in args.names or list(jobs):
        recipe, out = jobs[name]
        if out.exists() and not args.force:
            print(f"[{name}] exists, skipped")
            continue
        if out.exists():
            shutil.rmtree(out)
        if args.adopt is not None:
            _check_recipe(args.adopt, recipe)
            shutil.copytree(args.adopt, out)
            seconds = 0.0
        else:
            seconds = _run(name, recipe, out, args.data_root, args.threads)
        for fold in out.glob("fold_*"):
            shutil.rmtree(fold)  # fold weights: not shipped; folds.csv keeps their numbers
        _relative_paths(out, args.data_root)
        if (out / "model.safetensors").exists() or (out / "model.skops").exists():
            loco = GENERALISATION.get(name)
            # the card's data paths as committed; the default's card shows its LOCO run too
            rewrite_model_card(out, args.results / loco if loco else None)
        print(f"[{name}] {seconds:.0f} s", flush=True)
    if not args.no_report:
        subprocess.run(["ser", "report"], check=True)


if __name__ == "__main__":
    main()
