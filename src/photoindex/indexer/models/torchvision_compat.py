"""Make ``import torchvision`` work when its wheel does not match the installed torch.

The torchvision wheel on PyPI is a CUDA build. Installed next to a CPU-only
torch, its compiled operators fail to register, and ``import torchvision``
dies in ``torchvision/_meta_registrations.py`` with::

    RuntimeError: operator torchvision::nms does not exist

open_clip and transformers' BLIP import torchvision (for transforms), so
that one error would take both models down. The module that fails only
registers "meta" kernels (shape inference for ``torch.compile``) for
torchvision's detection operators (nms, roi_align, ...), which photoindex
never calls. So when, and only when, that exact error happens, we put an
empty stand-in in its place and import torchvision again. Everything
photoindex uses from torchvision is pure Python on top of torch.

Call :func:`ensure_torchvision_importable` before importing open_clip or
transformers models. Where torchvision imports cleanly it does nothing.
"""

from __future__ import annotations

import importlib
import sys
import types

import structlog

_META_MODULE = "torchvision._meta_registrations"

log = structlog.get_logger(__name__)


def ensure_torchvision_importable() -> None:
    """Import torchvision, working around a CPU torch / CUDA torchvision mismatch.

    Re-raises any error other than the missing-operator one.
    """
    try:
        importlib.import_module("torchvision")
        return
    except RuntimeError as exc:
        if not _is_missing_operator(exc):
            raise
        reason = str(exc)

    # The failed import leaves torchvision and some submodules half-initialised
    # in sys.modules; a second import must start from scratch.
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]
    stand_in = types.ModuleType(_META_MODULE)
    stand_in.__doc__ = (
        "Empty stand-in installed by photoindex: torchvision's compiled operators "
        "are missing, so their meta kernels cannot be registered."
    )
    sys.modules[_META_MODULE] = stand_in
    torchvision = importlib.import_module("torchvision")
    # Expected on every CPU-only install, and harmless: a debug line, not a warning the user
    # cannot act on. Logged once per process: on later calls the import above succeeds at once.
    log.debug(
        "torchvision.ops_unavailable",
        reason=reason,
        torchvision=getattr(torchvision, "__version__", "?"),
        note="compiled torchvision ops (nms, roi_align) are disabled; photoindex does not use them",
    )


def _is_missing_operator(exc: RuntimeError) -> bool:
    message = str(exc)
    return "torchvision::" in message and "does not exist" in message


__all__ = ["ensure_torchvision_importable"]
