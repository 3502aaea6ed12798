r"""Clipping and thresholding of the predicted $x_0$: detected, named, and stepped around.

diffusers' DDPM / DDIM clip the predicted $x_0$ to $[-r, r]$ by default (``clip_sample=True``,
``clip_sample_range`` $= r = 1$, meant for images in $[-1, 1]$); DDIM, DDPM, DPM-Solver,
UniPC, DEIS can threshold it (``thresholding=True``: Saharia et al. 2022, arXiv:2205.11487,
§2.3: $s = \mathrm{clamp}(q_{0.995}(|x_0|), 1, \texttt{sample\_max\_value})$, then
$x_0 \leftarrow \mathrm{clamp}(x_0, -s, s)/s$). Both are the identity while $|x_0| \le r$
(thresholding: $r = 1$, when ``sample_max_value`` $\ge 1$) and not affine beyond, so

* the **exact checks** (weak order, step law, gamma, output KL: they probe an affine map) run
  on a copy of the scheduler with the option off, and each reason says so;
* the **consistency check** runs the scheduler as configured, on a target inside the clip
  range: the user's Gaussian scaled by $a = r / \max_i (|m_i| + 5 \sqrt{C_{ii}})$ (the data
  lie within 5 standard deviations of $[-r, r]$), and its reason says so. A clip that is
  harmful for data inside its range fails there; the user's own target (outside the range)
  is not what the option is meant for.

For a target that is not Gaussian, or a thresholding that is not the identity anywhere
(``sample_max_value`` $< 1$), nothing is changed and each reason names the option.
"""

from __future__ import annotations

import numpy as np

__all__ = ["clip_option", "inside", "split"]

INSIDE_SD = 5.0


def clip_option(ad):
    """``(sentence naming the option, range r or None, config overrides turning it off)``, or
    ``None`` when the scheduler neither clips nor thresholds."""
    cfg = getattr(getattr(ad, "proto", None), "config", None)
    if not cfg:
        return None
    if cfg.get("clip_sample", False):
        r = float(cfg.get("clip_sample_range", 1.0))
        return (
            f"clip_sample=True clips the predicted x_0 to [-{r:g}, {r:g}] (meant for images)",
            r,
            {"clip_sample": False},
        )
    if cfg.get("thresholding", False):
        smv = float(cfg.get("sample_max_value", 1.0))
        return (
            f"thresholding=True (dynamic thresholding of the predicted x_0, sample_max_value = "
            f"{smv:g})",
            1.0 if smv >= 1.0 else None,
            {"thresholding": False},
        )
    return None


def inside(data, r):
    """The Gaussian ``data`` scaled by ``a`` so that every coordinate's mean +- 5 sd lies in
    ``[-r, r]``: ``(scaled target, a)``."""
    from analytic import Gaussian

    m = np.asarray(data.mean, dtype=np.float64)
    C = np.atleast_2d(data.cov)
    a = r / float(np.max(np.abs(m) + INSIDE_SD * np.sqrt(np.diag(C))))
    return Gaussian(a * m, a * a * C), a


def split(ad, data):
    """``(consistency adapter, exact-check adapter, {check: note})`` for a clipping /
    thresholding scheduler (module docstring); ``(ad, ad, {})`` otherwise."""
    from analytic import Gaussian

    opt = clip_option(ad)
    if opt is None:
        return ad, ad, {}
    what, r, off = opt
    exact = ad.with_config(**off)
    notes = {"exact": f"run with {_kv(off)} (a copy): {what}, not affine"}
    if r is not None and isinstance(data, Gaussian):
        tgt, a = inside(data, r)
        cons = ad.with_data(tgt)
        notes["consistency"] = (
            f"run as configured on the target scaled by {a:.3g} (mean {np.round(tgt.mean, 3)}, "
            f"within {INSIDE_SD:g} sd of [-{r:g}, {r:g}]), because {what}"
        )
    else:
        cons = ad
        notes["consistency"] = f"the scheduler runs with {what}"
    return cons, exact, notes


def annotate(results, notes):
    """Append the clipping notes to the checks' reasons (in place)."""
    for name, res in results.items():
        note = notes.get("consistency" if name == "consistency" else "exact")
        if note:
            res.reason = f"{res.reason} [{note}]"
            res.data = {**res.data, "clipping": note}
    return results


def _kv(d):
    return ", ".join(f"{k}={v}" for k, v in d.items())
