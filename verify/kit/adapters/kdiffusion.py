"""k-diffusion's samplers (``k_diffusion.sampling.sample_*``) as the kit drives them.

:func:`load_sampling` imports ``k_diffusion.sampling``. ``import k_diffusion`` runs the
package's ``__init__``, which imports its training and evaluation modules (scikit-image,
clean-fid, CLIP, dctorch, ...) that the samplers never use; when that import fails, the
published ``sampling.py`` (and the ``utils.py`` it imports) are loaded unchanged from the installed
package without running ``__init__``. They need torch, scipy, torchsde, torchdiffeq, tqdm,
Pillow and safetensors; ``utils.py`` imports ``torchvision.transforms.functional`` for image
helpers the samplers never call, so when torchvision is missing or does not load (the
registry's wheel against a CPU torch), a minimal stand-in module is put in ``sys.modules`` for
the duration of that import only and removed afterwards (diffusers and others never see it).
One line, on a fresh venv after ``pip install --no-deps k-diffusion``::

    K = load_sampling()  # from verify.kit.adapters.kdiffusion

:data:`KDIFFUSION` lists the samplers of the conformance table: name -> (function name,
stated method of ``verify.kit.conformance.METHOD_SPECS``, knobs). Stochasticity knobs
(``eta``, ``s_churn``, ``s_noise``) appear as separate rows.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types

__all__ = ["KDIFFUSION", "load_sampling", "sampler"]

KDIFFUSION = {
    "euler": ("sample_euler", "euler", {}),
    "euler s_churn=10": ("sample_euler", "euler", {"s_churn": 10.0}),
    "euler_ancestral": ("sample_euler_ancestral", "euler_ancestral", {"eta": 1.0}),
    "euler_ancestral eta=0.5": (
        "sample_euler_ancestral",
        "euler_ancestral",
        {"eta": 0.5},
    ),
    "heun": ("sample_heun", "heun", {}),
    "heun s_churn=10": ("sample_heun", "heun", {"s_churn": 10.0}),
    "dpm_2": ("sample_dpm_2", "dpm_2", {}),
    "dpm_2_ancestral": ("sample_dpm_2_ancestral", "dpm_2_ancestral", {"eta": 1.0}),
    "lms": ("sample_lms", "lms", {}),
    "dpmpp_2s_ancestral": (
        "sample_dpmpp_2s_ancestral",
        "dpmpp_2s_ancestral",
        {"eta": 1.0},
    ),
    "dpmpp_sde": ("sample_dpmpp_sde", "dpmpp_sde", {"eta": 1.0}),
    "dpmpp_sde eta=0": ("sample_dpmpp_sde", "dpmpp_sde", {"eta": 0.0}),
    "dpmpp_2m": ("sample_dpmpp_2m", "dpmpp_2m", {}),
    "dpmpp_2m_sde": ("sample_dpmpp_2m_sde", "dpmpp_2m_sde", {"eta": 1.0}),
    "dpmpp_2m_sde eta=0": ("sample_dpmpp_2m_sde", "dpmpp_2m_sde", {"eta": 0.0}),
    "dpmpp_2m_sde heun": (
        "sample_dpmpp_2m_sde",
        "dpmpp_2m_sde",
        {"eta": 1.0, "solver_type": "heun"},
    ),
    "dpmpp_3m_sde": ("sample_dpmpp_3m_sde", "dpmpp_3m_sde", {"eta": 1.0}),
    "dpmpp_3m_sde eta=0": ("sample_dpmpp_3m_sde", "dpmpp_3m_sde", {"eta": 0.0}),
    "dpm_fast": ("sample_dpm_fast", "dpm_fast", {}),
    "dpm_adaptive": ("sample_dpm_adaptive", None, {}),
}
"""name -> (function in k_diffusion.sampling, stated method, knobs)."""


def load_sampling():
    """``k_diffusion.sampling`` (the published module, unchanged); ``ImportError`` naming
    what is missing if neither the package nor its bare sampler module can be imported."""
    try:
        return importlib.import_module("k_diffusion.sampling")
    except Exception as exc:  # noqa: BLE001 - its __init__ imports a training stack that may not load
        first = exc
        for name in [n for n in sys.modules if n.startswith("k_diffusion")]:
            sys.modules.pop(name, None)
    spec = importlib.util.find_spec("k_diffusion")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("k-diffusion is not installed (pip install k-diffusion)") from first
    pkg = types.ModuleType("k_diffusion")
    pkg.__path__ = list(spec.submodule_search_locations)
    pkg.__spec__ = spec
    pkg.__file__ = spec.origin
    sys.modules["k_diffusion"] = pkg
    try:
        return _import_bare()
    except ImportError as exc:
        for name in ("k_diffusion.sampling", "k_diffusion.utils", "k_diffusion"):
            sys.modules.pop(name, None)
        raise ImportError(
            f"k_diffusion.sampling cannot be imported: {exc} (the package import failed "
            f"first: {first})"
        ) from exc


_TORCHVISION = ("torchvision", "torchvision.transforms", "torchvision.transforms.functional")


def _torchvision_stand_in() -> dict:
    """Empty ``torchvision.transforms.functional`` modules (what ``k_diffusion/utils.py``
    imports at module level for image helpers the samplers never call)."""
    mods = {}
    for name in _TORCHVISION:
        mod = types.ModuleType(name)
        mod.__spec__ = importlib.machinery.ModuleSpec(name, None)
        mods[name] = mod
    mods["torchvision"].transforms = mods["torchvision.transforms"]
    mods["torchvision.transforms"].functional = mods["torchvision.transforms.functional"]
    return mods


def _torchvision_loads() -> bool:
    try:
        importlib.import_module("torchvision.transforms.functional")
    except Exception:  # noqa: BLE001 - a wheel built for another torch raises all sorts
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            sys.modules.pop(name, None)
        return False
    return True


def _import_bare():
    """``k_diffusion.sampling`` without the package ``__init__``; with the torchvision stand-in
    only if the real torchvision does not load (the stand-in is removed afterwards)."""
    if _torchvision_loads():
        return importlib.import_module("k_diffusion.sampling")
    saved = {n: sys.modules.get(n) for n in _TORCHVISION}
    sys.modules.update(_torchvision_stand_in())
    try:
        return importlib.import_module("k_diffusion.sampling")
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod


def sampling_available() -> str | None:
    """``None`` if :func:`load_sampling` works here, else why not (a claim requirement)."""
    try:
        load_sampling()
    except ImportError as exc:
        return str(exc)
    return None


sampling_available.requirement = "k_diffusion.sampling"


def sampler(name):
    """``(function, stated method, knobs)`` of the table row ``name`` of :data:`KDIFFUSION`."""
    if name not in KDIFFUSION:
        raise ValueError(f"unknown k-diffusion sampler {name!r}; known: {sorted(KDIFFUSION)}")
    fn, method, knobs = KDIFFUSION[name]
    return getattr(load_sampling(), fn), method, dict(knobs)
