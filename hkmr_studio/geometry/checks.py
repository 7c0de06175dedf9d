"""Shape checks whose errors say what was expected and what arrived."""

from __future__ import annotations

import torch


def check_last_dims(tensor: torch.Tensor, expected: tuple[int, ...], name: str) -> None:
    """Raise ValueError unless `tensor`'s trailing dimensions equal `expected`."""
    n = len(expected)
    if tensor.dim() < n or tuple(tensor.shape[-n:]) != tuple(expected):
        wanted = "(..., " + ", ".join(str(d) for d in expected) + ")"
        raise ValueError(f"{name}: expected shape {wanted}, got {tuple(tensor.shape)}")


def check_shape(tensor: torch.Tensor, expected: tuple[int | None, ...], name: str) -> None:
    """Raise ValueError unless `tensor` has `expected` shape; None matches any size in that place."""
    ok = tensor.dim() == len(expected) and all(e is None or e == s for e, s in zip(expected, tensor.shape))
    if not ok:
        wanted = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
        raise ValueError(f"{name}: expected shape {wanted}, got {tuple(tensor.shape)}")
