r"""The standard noise schedules in k-diffusion form: ``N + 1`` sigmas, decreasing, ending at 0.

* ``karras``: $\sigma_i = (\sigma_{max}^{1/\rho} + \tfrac{i}{N-1}(\sigma_{min}^{1/\rho} -
  \sigma_{max}^{1/\rho}))^\rho$, $i = 0..N-1$, then $0$ (Karras et al. 2022, arXiv 2206.00364,
  eq. 5; ``k_diffusion.sampling.get_sigmas_karras(N, sigma_min, sigma_max, rho)``).
* ``edm``: ``karras`` with EDM's defaults $\sigma_{min} = 0.002$, $\sigma_{max} = 80$,
  $\rho = 7$ (Karras et al. 2022, Table 1), whatever the problem's $\sigma_{max}$.
* ``uniform-t``: uniform in $t = \sigma$ (the EDM time) from $\sigma_{max}$ to 0.
* ``log-snr``: uniform in $\log \sigma$ (the log-SNR $-2\log\sigma$) from $\sigma_{max}$ to
  $\sigma_{min}$, then 0 (``get_sigmas_exponential``; DPM-Solver's logSNR spacing, Lu et al.
  2022, arXiv 2206.00927).
* ``ays-sd`` / ``ays-sdxl``: the Align-Your-Steps 10-step sigmas of Sabour, Fidler & Kreis
  (2024, arXiv 2404.14507) for Stable Diffusion 1.5 / SDXL, read from ``diffusers``
  (``diffusers.schedulers.AysSchedules``) when it is installed, else from
  :data:`AYS_PUBLISHED` (the same lists, copied from diffusers 0.42.1's
  ``schedulers/scheduling_utils.py``; a test checks them against the installed diffusers);
  defined for ``N = 10`` only.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path

import numpy as np

__all__ = ["karras", "uniform_t", "log_snr", "ays", "standard_grids", "EDM_DEFAULTS"]

EDM_DEFAULTS = {"sigma_min": 0.002, "sigma_max": 80.0, "rho": 7.0}

AYS_PUBLISHED = {
    "StableDiffusionSigmas": [
        14.615,
        6.475,
        3.861,
        2.697,
        1.886,
        1.396,
        0.963,
        0.652,
        0.399,
        0.152,
        0.0,
    ],
    "StableDiffusionXLSigmas": [
        14.615,
        6.315,
        3.771,
        2.181,
        1.342,
        0.862,
        0.555,
        0.38,
        0.234,
        0.113,
        0.0,
    ],
}
"""The Align-Your-Steps 10-step sigmas (Sabour, Fidler & Kreis 2024, arXiv 2404.14507) as
diffusers 0.42.1 ships them in ``diffusers.schedulers.AysSchedules``; used when diffusers is
not installed."""


def karras(n_steps, sigma_min, sigma_max, rho=7.0):
    ramp = np.linspace(0.0, 1.0, n_steps)
    lo, hi = sigma_min ** (1.0 / rho), sigma_max ** (1.0 / rho)
    return np.append((hi + ramp * (lo - hi)) ** rho, 0.0)


def uniform_t(n_steps, sigma_max):
    return np.linspace(sigma_max, 0.0, n_steps + 1)


def log_snr(n_steps, sigma_min, sigma_max):
    return np.append(np.exp(np.linspace(np.log(sigma_max), np.log(sigma_min), n_steps)), 0.0)


@functools.lru_cache(maxsize=1)
def _ays_table():
    """``AysSchedules`` from the installed diffusers, read from its source file with ``ast``
    (importing diffusers imports torch, seconds of start-up); ``None`` if not installed."""
    spec = importlib.util.find_spec("diffusers")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "schedulers" / "scheduling_utils.py"
    try:
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "AysSchedules" for t in node.targets
            ):
                return ast.literal_eval(node.value)
    except (OSError, SyntaxError, ValueError):  # pragma: no cover - an unusual install
        pass
    from diffusers.schedulers import AysSchedules  # pragma: no cover

    return dict(AysSchedules)  # pragma: no cover


def ays(n_steps, model="StableDiffusion"):
    """The published AYS sigmas (with the final 0), or ``None`` with the reason."""
    table = _ays_table() or AYS_PUBLISHED
    s = np.asarray(table[f"{model}Sigmas"], dtype=np.float64)
    if n_steps != len(s) - 1:
        return None, f"AYS publishes {len(s) - 1}-step sigmas only (asked for N = {n_steps})"
    return s, ""


def standard_grids(n_steps, sigma_max, sigma_min=0.002, rho=7.0, end=0.0):
    """``(grids, notes)``: name -> sigmas, and name -> why a schedule was left out.

    ``end = 0``: k-diffusion's form (the last step goes to 0). ``end > 0``: every grid takes
    its ``N`` steps from ``sigma_max`` down to ``end`` (``karras`` and ``log-snr`` with
    ``sigma_min = end``); the published AYS and EDM grids end at 0 and are left out.
    """
    if end > 0:
        grids = {
            "karras": karras(n_steps + 1, end, sigma_max, rho)[:-1],
            "uniform-t": np.linspace(sigma_max, end, n_steps + 1),
            "log-snr": log_snr(n_steps + 1, end, sigma_max)[:-1],
        }
        why = f"published with a final sigma of 0, not {end:g}"
        return grids, {"edm": why, "ays-sd": why, "ays-sdxl": why}
    grids = {
        "karras": karras(n_steps, sigma_min, sigma_max, rho),
        "uniform-t": uniform_t(n_steps, sigma_max),
        "log-snr": log_snr(n_steps, sigma_min, sigma_max),
    }
    notes = {}
    e = EDM_DEFAULTS
    if sigma_max >= e["sigma_max"]:
        edm = karras(n_steps, e["sigma_min"], e["sigma_max"], e["rho"])
        if np.array_equal(edm, grids["karras"]):
            notes["edm"] = "EDM's defaults (0.002, 80, rho 7) are the karras row here"
        else:
            grids["edm"] = edm
    else:
        notes["edm"] = f"EDM's sigma_max = 80 exceeds the problem's sigma_max = {sigma_max:g}"
    for name, model in (("ays-sd", "StableDiffusion"), ("ays-sdxl", "StableDiffusionXL")):
        s, why = ays(n_steps, model)
        if s is None:
            notes[name] = why
        elif s[0] > sigma_max:
            notes[name] = f"AYS starts at sigma = {s[0]:g} > sigma_max = {sigma_max:g}"
        else:
            grids[name] = s
    notes["tangent"] = (
        "the tangent-law schedule of Zhang, Sun & Poor (arXiv 2601.13602) is left out: its "
        "exact formula was not found in the sources available here"
    )
    return grids, notes
