"""Explanation maps: Grad-CAM, input × gradient, attention rollout, and mapping frame-level maps
back to the input (every explanation method of the zoo lives here).

Every map is non-negative, normalised to a maximum of 1 per item, zero beyond each item's valid
length, and laid out on the input's own axes (time last), so ``ser_core.explain`` and the app can
draw it over the waveform or the spectrogram without knowing the model.

* Grad-CAM: Selvaraju et al., "Grad-CAM: Visual explanations from deep networks via
  gradient-based localization", ICCV 2017.
* Input × gradient: Shrikumar et al., "Not just a black box: learning important features through
  propagating activation differences", 2016.
* Attention rollout: Abnar & Zuidema, "Quantifying attention flow in transformers", ACL 2020
  (the ViT and the pretrained encoders' attention maps).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "attention_rollout",
    "grad_cam",
    "input_x_gradient",
    "normalise_maps",
    "resample_time",
    "resample_time_freq",
    "target_indices",
]


def target_indices(logits: Tensor, target: int | Sequence[int] | Tensor | None) -> Tensor:
    """The class to explain per item: ``target`` if given, else the predicted class."""
    if target is None:
        return logits.argmax(dim=-1)
    t = torch.as_tensor(target, dtype=torch.long, device=logits.device)
    return t.expand(logits.shape[0]) if t.ndim == 0 else t


def normalise_maps(maps: Tensor, lengths: Tensor | None = None) -> Tensor:
    """Clamp at 0, zero beyond each length (last axis) and scale each item to a maximum of 1."""
    maps = maps.clamp_min(0)
    if lengths is not None:
        steps = torch.arange(maps.shape[-1], device=maps.device)
        valid = steps[None, :] < lengths[:, None]
        maps = maps * valid.view(maps.shape[0], *([1] * (maps.ndim - 2)), -1).to(maps.dtype)
    peak = maps.flatten(1).amax(dim=1).clamp_min(1e-12)
    return maps / peak.view(-1, *([1] * (maps.ndim - 1)))


def resample_time(
    frame_map: Tensor,
    frame_lengths: Tensor | None,
    input_lengths: Tensor | None,
    input_len: int,
) -> Tensor:
    """Stretch a (B, T') frame-level map over the input's time axis → (B, input_len).

    Each item's valid frames are linearly interpolated onto its valid input steps; the rest is 0.
    """
    b, t_frames = frame_map.shape
    out = frame_map.new_zeros(b, input_len)
    for i in range(b):
        n_frames = int(frame_lengths[i]) if frame_lengths is not None else t_frames
        n_in = int(input_lengths[i]) if input_lengths is not None else input_len
        n_frames = max(1, min(n_frames, t_frames))
        segment = frame_map[i, :n_frames].view(1, 1, -1)
        out[i, :n_in] = F.interpolate(segment, size=n_in, mode="linear", align_corners=False)[0, 0]
    return out


def resample_time_freq(
    tf_map: Tensor,
    frame_lengths: Tensor | None,
    input_lengths: Tensor | None,
    out_shape: tuple[int, int],
) -> Tensor:
    """Stretch a (B, F', T') map over the input's (F, T) grid (bilinear on each valid part)."""
    b, _, t_frames = tf_map.shape
    n_freq, n_time = out_shape
    out = tf_map.new_zeros(b, n_freq, n_time)
    for i in range(b):
        n_frames = int(frame_lengths[i]) if frame_lengths is not None else t_frames
        n_in = int(input_lengths[i]) if input_lengths is not None else n_time
        n_frames = max(1, min(n_frames, t_frames))
        segment = tf_map[i : i + 1, :, :n_frames].unsqueeze(1)
        out[i, :, :n_in] = F.interpolate(
            segment, size=(n_freq, n_in), mode="bilinear", align_corners=False
        )[0, 0]
    return out


def grad_cam(
    run: Callable[[], tuple[Tensor, Tensor]],
    target: int | Sequence[int] | Tensor | None,
) -> Tensor:
    """Grad-CAM over an activation (B, C, *spatial) → (B, *spatial), non-negative.

    ``ReLU(Σ_c w_c A_c)`` with ``w_c`` the spatial mean of the gradient; for an item with no
    positive evidence anywhere, ``|Σ_c w_c A_c|`` instead (so the map is never blank).

    Args:
        run: runs the model and returns ``(logits, activation)``, the activation being part of
            the graph that produced the logits (no module state, so it is thread-safe).
        target: class per item (default: the predicted one).
    """
    with torch.enable_grad():
        logits, act = run()
        classes = target_indices(logits, target)
        score = logits.gather(1, classes[:, None]).sum()
        (grads,) = torch.autograd.grad(score, act)
    spatial = tuple(range(2, act.ndim))
    weights = grads.mean(dim=spatial, keepdim=True)
    cam = (weights * act).sum(dim=1).detach()
    positive = torch.relu(cam)
    # Where no location has positive evidence (possible with ELU features or an untrained
    # model), show the magnitude instead of a blank map.
    empty = positive.flatten(1).amax(dim=1) <= 0
    return torch.where(empty.view(-1, *([1] * (cam.ndim - 1))), cam.abs(), positive)


def input_x_gradient(
    forward: Callable[[Tensor], Tensor],
    x: Tensor,
    target: int | Sequence[int] | Tensor | None,
) -> Tensor:
    """``|x · ∂score/∂x|`` for the target class, same shape as ``x``."""
    with torch.enable_grad():
        x = x.detach().clone().requires_grad_(True)
        logits = forward(x)
        classes = target_indices(logits, target)
        score = logits.gather(1, classes[:, None]).sum()
        (grads,) = torch.autograd.grad(score, x)
    return (x * grads).abs().detach()


def attention_rollout(attentions: Sequence[Tensor], residual: float = 0.5) -> list[Tensor]:
    """Cumulative attention rollout (Abnar & Zuidema 2020) after every layer.

    Each layer's attention is averaged over heads, mixed with the identity for the residual
    connection (``residual · I + (1 - residual) · A``), renormalised by row and multiplied onto
    the rollout of the layers below.

    Args:
        attentions: one ``(B, heads, T, T)`` tensor of attention probabilities per layer.
        residual: weight of the identity (0.5 in the paper).

    Returns:
        ``L + 1`` tensors ``(B, T, T)``, aligned with the encoder's hidden states: entry 0 is the
        identity (embedding output), entry ``l`` says how much each frame after layer ``l``
        draws on each input frame.
    """
    if not attentions:
        raise ValueError("no attention maps to roll out")
    first = attentions[0]
    batch, _, steps, _ = first.shape
    eye = torch.eye(steps, device=first.device, dtype=torch.float32).expand(batch, steps, steps)
    rollout = eye
    out = [eye]
    for attention in attentions:
        mixed = residual * eye + (1.0 - residual) * attention.float().mean(dim=1)
        mixed = mixed / mixed.sum(dim=-1, keepdim=True).clamp_min(1e-12)
        rollout = mixed @ rollout
        out.append(rollout)
    return out
