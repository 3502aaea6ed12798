"""The kit: what users call on their own code.

``check_sampler`` (``verify.kit.conformance``) checks a sampler against exact answers;
``verify.kit.references`` re-implements published update rules; ``verify.kit.conventions``
maps other projects' stochasticity knobs onto gamma; ``verify.kit.pytest_plugin`` is a pytest
fixture; ``verify.kit.strategies`` are hypothesis strategies; ``verify.kit.adapters`` drives
the published packages (k-diffusion, diffusers, torchsde). The kit never imports the command
line.
"""

from __future__ import annotations

import importlib

__all__ = ["check_sampler", "ConformanceReport"]


def __getattr__(name):
    if name in __all__:
        return getattr(importlib.import_module("verify.kit.conformance"), name)
    raise AttributeError(f"module 'verify.kit' has no attribute {name!r}")
