"""Where tensors run. One setting, ``train.accelerator`` (cpu | gpu | cuda | mps | auto),
drives every compute path: Lightning training, and the inference outside a Trainer
(pseudo-labels, probes, the fusion caches and modes, ``avemo predict``). The service has its
own ``serve.device``, which falls back to the CPU when CUDA is absent."""

from __future__ import annotations

import logging

import torch

log = logging.getLogger("avemo")

ACCELERATORS = ("cpu", "gpu", "cuda", "mps", "auto")


class DeviceError(RuntimeError):
    """The device a setting asks for is not there."""


def resolve(accelerator: str) -> torch.device:
    """The torch device for a Lightning-style accelerator name. ``gpu``/``cuda`` and ``mps``
    must exist (a clear error says which setting to change); ``auto`` picks CUDA, then MPS,
    then the CPU."""
    name = str(accelerator).lower()
    if name not in ACCELERATORS:
        raise ValueError(f"unknown accelerator {accelerator!r}; choose one of {list(ACCELERATORS)} "
                         "(train.accelerator, or --device)")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps() else torch.device("cpu")
    if name in ("gpu", "cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"accelerator {accelerator!r} asks for CUDA, but torch sees no CUDA device; "
                               "set train.accelerator: cpu (or auto), or pass --device cpu")
        return torch.device("cuda")
    if name == "mps" and not _mps():
        raise DeviceError("accelerator 'mps' asks for Apple's GPU, which torch does not see; set train.accelerator: cpu")
    return torch.device(name)


def serving(setting: str) -> torch.device:
    """The service's device: ``serve.device`` when it exists, else the CPU with one log line."""
    try:
        return resolve(setting)
    except DeviceError:
        log.warning("serve.device is %r but no such device is present: serving on the CPU", setting)
        return torch.device("cpu")


def _mps() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def move(obj, device: torch.device):
    """``obj`` (a tensor, or dicts / lists / tuples of them, None kept) on ``device``; pinned
    CPU tensors copy asynchronously to CUDA."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=obj.is_pinned())
    if isinstance(obj, dict):
        return {k: move(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(move(v, device) for v in obj)
    return obj


def deterministic(setting: bool | str, accelerator: str) -> bool | str:
    """Lightning's ``deterministic`` for ``train.deterministic`` on ``accelerator``. ``true``:
    deterministic algorithms; on CUDA, where some kernels (e.g. the backward of adaptive
    average pooling) have no deterministic version, torch warns there instead of failing
    (``"warn"``). ``warn`` asks for that everywhere; ``false`` lets torch pick the fastest
    kernels."""
    if setting is True and resolve(accelerator).type == "cuda":
        return "warn"
    return setting
