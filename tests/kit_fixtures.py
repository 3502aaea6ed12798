"""Test fixtures for the kit on real packages (fixtures only: nothing here ships).

``import k_diffusion`` imports torchvision (and k-diffusion's training stack), whose registry
wheel does not load against the CPU torch wheel of this project's machines. The sampler
functions in ``k_diffusion/sampling.py`` need only torch, scipy, torchsde, torchdiffeq, tqdm and
``k_diffusion/utils.py``, which imports ``torchvision.transforms.functional`` for image helpers
the samplers never call. :func:`kdiffusion_sampling` loads the published ``sampling.py``
unchanged through the kit's own loader (``verify.kit.adapters.kdiffusion.load_sampling``,
which puts a minimal torchvision stand-in in ``sys.modules`` for the duration of the import
only, so that nothing else, e.g. diffusers' check for torchvision, ever sees it).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys

import pytest


def kdiffusion_sampling():
    """The published ``k_diffusion.sampling`` module, or ``pytest.skip`` if not installed."""
    if "k_diffusion.sampling" in sys.modules:
        return sys.modules["k_diffusion.sampling"]
    for dep in ("torch", "k_diffusion", "torchsde", "torchdiffeq", "tqdm", "scipy"):
        if importlib.util.find_spec(dep) is None:
            pytest.skip(f"needs {dep} (pip install -e .[peers]; see README)")
    from verify.kit.adapters.kdiffusion import load_sampling

    return load_sampling()
