"""Test fixtures for the kit on real packages (fixtures only: nothing here ships).

``import k_diffusion`` imports torchvision (and k-diffusion's training stack), whose registry
wheel does not load against the CPU torch wheel of this project's machines. The sampler
functions in ``k_diffusion/sampling.py`` need only torch, scipy, torchsde, torchdiffeq, tqdm and
``k_diffusion/utils.py``, which imports ``torchvision.transforms.functional`` for image helpers
the samplers never call. :func:`kdiffusion_sampling` loads the published ``sampling.py``
unchanged (``verify.kit.adapters.kdiffusion.load_sampling``) with a minimal torchvision stand-in
in ``sys.modules`` for the duration of the import only, so that nothing else (diffusers checks
for torchvision) ever sees it.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types

import pytest


def _stand_in():
    names = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional")
    mods = {}
    for name in names:
        mod = types.ModuleType(name)
        mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
        mods[name] = mod
    mods["torchvision"].transforms = mods["torchvision.transforms"]
    mods["torchvision.transforms"].functional = mods["torchvision.transforms.functional"]
    return mods


def kdiffusion_sampling():
    """The published ``k_diffusion.sampling`` module, or ``pytest.skip`` if not installed."""
    if "k_diffusion.sampling" in sys.modules:
        return sys.modules["k_diffusion.sampling"]
    for dep in ("torch", "k_diffusion", "torchsde", "torchdiffeq", "tqdm", "scipy"):
        if importlib.util.find_spec(dep) is None:
            pytest.skip(f"needs {dep} (pip install -e .[peers]; see README)")
    from verify.kit.adapters.kdiffusion import load_sampling

    saved = {n: sys.modules.get(n) for n in _stand_in()}
    try:
        return load_sampling()
    except ImportError:
        sys.modules.update(_stand_in())
        try:
            return load_sampling()
        finally:
            for name, mod in saved.items():
                if mod is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = mod
