"""The numbers docs/claims/conformance.md quotes about the published samplers, measured.

Each quoted number is an entry of :data:`QUOTES`: the measurement that produces it (a key of
:data:`MEASURE`, run by calling the kit on the package's own sampler as the claims do), the
format the text quotes it in, and the sentence fragment around it (``{}`` marks the number).
``docs/runs/conformance-numbers.json`` keeps the last measurement; the tests in
``tests/test_conformance_numbers.py`` check that the card quotes the json at its precision
(fast) and that a fresh measurement reproduces the json at that precision (slow, per
package). Regenerate after a change of the kit or of a package::

    PYTHONPATH=$PWD python tests/conformance_numbers.py --write [GROUP ...]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "claims" / "conformance.md"
RUNS = ROOT / "docs" / "runs" / "conformance-numbers.json"

KD_ORDER_STEPS = (16, 32, 64, 128)
"""The step counts of the k-diffusion orders claims (its quick table; the statements' N)."""

SD15 = {
    "steps_offset": 1,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "set_alpha_to_one": False,
    "clip_sample": False,
}


# ------------------------------------------------------------------------ measurements
def _kd_weak(name):
    from verify.kit.adapters.kdiffusion import sampler
    from verify.kit.conformance import check_sampler

    fn, method, knobs = sampler(name)
    rep = check_sampler(
        fn, "k-diffusion", method, checks=("weak-order",), order_steps=KD_ORDER_STEPS, **knobs
    )
    w = rep.checks["weak-order"]
    return {"slope": w.data["slope"], "local": w.data["local"][-1]}


def measure_kdiffusion() -> dict:
    """Weak-order slopes over N = 16..128 of k-diffusion rows (and dpmpp_3m_sde's local order
    from 64 to 128), as the k-diffusion-orders claim measures them."""
    out = {}
    for name in (
        "lms",
        "dpmpp_3m_sde eta=0",
        "dpm_2_ancestral",
        "dpmpp_2s_ancestral",
        "dpmpp_2m_sde",
        "euler_ancestral",
        "dpmpp_sde",
    ):
        w = _kd_weak(name)
        out[f"{name}: slope"] = w["slope"]
        if name == "dpmpp_3m_sde eta=0":
            out[f"{name}: local"] = w["local"]
    return out


def _gap(rep, check="step-law"):
    return rep.checks[check].data["worst"]


def measure_diffusers() -> dict:
    """Findings 1-3 and the precision example of the card, on diffusers' own schedulers."""
    import diffusers

    from verify.kit.conformance import check_sampler

    out = {}
    # Finding 1: churned EulerDiscrete against k-diffusion's churned Euler
    rep = check_sampler(
        diffusers.EulerDiscreteScheduler(),
        "diffusers",
        "euler",
        s_churn=10.0,
        checks=("step-law", "output-kl"),
    )
    out["euler churn: step-law gap"] = _gap(rep)
    first = rep.checks["step-law"].rows[0]  # [k, t_0, t_k, mean gap, cov gap, KL]
    out["euler churn: step-law gap after 1 step"] = max(first[3], first[4])
    for n, k in zip(
        rep.checks["output-kl"].data["n"], rep.checks["output-kl"].data["kl"], strict=True
    ):
        out[f"euler churn: KL at N = {n}"] = k
    # Finding 2: DPMSolverMultistep on the cosine schedule
    cos = diffusers.DPMSolverMultistepScheduler(beta_schedule="squaredcos_cap_v2")
    a_T = float(cos.alphas_cumprod[-1])
    out["cosine: alpha_T"] = math.sqrt(a_T)  # alpha_t of DPM-Solver: sqrt(alphas_cumprod)
    out["cosine: first sigma"] = math.sqrt((1.0 - a_T) / a_T)
    rep = check_sampler(
        diffusers.DPMSolverMultistepScheduler(beta_schedule="squaredcos_cap_v2"),
        "diffusers",
        "dpmpp_2m",
        checks=("step-law", "output-kl"),
    )
    step = rep.checks["step-law"]
    out["cosine: step-law gap"] = step.data["worst"]
    out["cosine: step-law gap, float64 copy"] = step.data["float64"]["worst"]
    for n, k in zip(
        rep.checks["output-kl"].data["n"], rep.checks["output-kl"].data["kl"], strict=True
    ):
        if n != 10:
            out[f"cosine: KL at N = {n}"] = k
    # Finding 3: Karras sigmas with rounded timesteps
    rep = check_sampler(
        diffusers.DPMSolverMultistepScheduler(use_karras_sigmas=True),
        "diffusers",
        "dpmpp_2m",
        checks=("step-law",),
    )
    out["karras: step-law gap"] = _gap(rep)
    # Precision: DDIM with the SD-1.5 config, eta = 1, gamma gap in float32 and in the copy
    rep = check_sampler(
        diffusers.DDIMScheduler(**SD15), "diffusers", "ddim", checks=("gamma",), eta=1.0
    )
    g = rep.checks["gamma"]
    out["ddim sd: gamma gap"] = g.data["worst"]
    out["ddim sd: gamma gap, float64 copy"] = g.data["float64"]["worst"]
    # final-step: DDIM leading without set_alpha_to_one, linear and SD schedules
    for name, cfg in (("linear", {}), ("sd", SD15)):
        cfg = {**cfg, "clip_sample": False, "set_alpha_to_one": False}
        s = diffusers.DDIMScheduler(**cfg, timestep_spacing="leading")
        fs = check_sampler(s, "diffusers", "ddim", checks=("final-step",)).checks["final-step"]
        out[f"ddim leading {name}: residual std"] = fs.data["residual_std"]
    return out


def measure_torchsde() -> dict:
    """Weak-order slopes over N = 8..64 and reversible_heun's output KL at N = 10, 25, 50."""
    from verify.kit.adapters.sdeint import check_sdeint

    out = {}
    for method in ("euler", "milstein", "srk"):
        rep = check_sdeint(method, gamma=1.0)
        out[f"{method}: slope"] = rep.checks["weak-order"].data["slope"]
    rep = check_sdeint("reversible_heun", gamma=1.0)
    w, o = rep.checks["weak-order"], rep.checks["output-kl"]
    for n, k in zip(w.data["n"], w.data["kl"], strict=True):
        if n in (8, 16):  # the unstable counts
            out[f"reversible_heun: weak-order KL at N = {n}"] = k
    # the slope a fit over every N would report (the instability, not the order)
    all_n = -np.polyfit(np.log(w.data["n"]), np.log(w.data["err"]), 1)[0]
    out["reversible_heun: slope over N = 8..64"] = float(all_n)
    fine = check_sdeint("reversible_heun", gamma=1.0, order_steps=(128, 256, 512))
    out["reversible_heun: slope over N = 128..512"] = fine.checks["weak-order"].data["slope"]
    for n, k in zip(o.data["n"], o.data["kl"], strict=True):
        out[f"reversible_heun: KL at N = {n}"] = k
    return out


MEASURE = {
    "k-diffusion": measure_kdiffusion,
    "diffusers": measure_diffusers,
    "torchsde": measure_torchsde,
}
"""group (the package it needs) -> measurement."""


# ------------------------------------------------------------------------------ quotes
CARD = "card"
"""``where`` of a quote in docs/claims/conformance.md; any other ``where`` is a claim id whose
``finding`` quotes it."""
KD_ORDERS, DIFFUSERS = "conformance.k-diffusion-orders", "conformance.diffusers"

QUOTES = [
    # k-diffusion-orders
    ("k-diffusion", ("lms: slope",), ".1f", "`lms` converges at {} and", CARD),
    (
        "k-diffusion",
        ("dpmpp_3m_sde eta=0: slope", "dpmpp_3m_sde eta=0: local"),
        (".2f", ".1f"),
        "`dpmpp_3m_sde` (eta = 0) at {} over `N = 16..128` ({} from 64 to 128)",
        CARD,
    ),
    ("k-diffusion", ("lms: slope",), ".1f", "converges at weak order {} and", KD_ORDERS),
    (
        "k-diffusion",
        ("dpmpp_3m_sde eta=0: slope", "dpmpp_3m_sde eta=0: local"),
        (".2f", ".1f"),
        "({} fitted over N = 16..128, {} from N = 64 to 128)",
        KD_ORDERS,
    ),
    *[
        ("k-diffusion", (f"{row}: slope",), ".0f", "dpmpp_2m_sde converge at about {} on", CARD)
        for row in ("dpm_2_ancestral", "dpmpp_2s_ancestral", "dpmpp_2m_sde")
    ],
    (
        "k-diffusion",
        ("dpmpp_sde: slope", "euler_ancestral: slope"),
        ".1f",
        "euler_ancestral and dpmpp_sde at about {}-{}",
        CARD,
    ),
    # diffusers, finding 1
    (
        "diffusers",
        ("euler churn: step-law gap after 1 step", "euler churn: step-law gap"),
        (".0f", ".1e"),
        "Chain-law gap {} (relative) after the first step, {} the largest over the first 5 steps",
        CARD,
    ),
    ("diffusers", ("euler churn: step-law gap",), ".1er", "step-law: fails, gap {} against", CARD),
    (
        "diffusers",
        ("euler churn: step-law gap",),
        ".1e",
        "(chain-law gap {} relative over 5 steps)",
        DIFFUSERS,
    ),
    (
        "diffusers",
        tuple(f"euler churn: KL at N = {n}" for n in (10, 25, 50)),
        ".3f",
        "(KL {}, {}, {} at N = 10, 25, 50)",
        CARD,
    ),
    # finding 2
    (
        "diffusers",
        ("cosine: alpha_T", "cosine: first sigma"),
        ".1e",
        "(`alpha_T = {}`, first level sigma = {})",
        CARD,
    ),
    (
        "diffusers",
        ("cosine: step-law gap", "cosine: KL at N = 25", "cosine: KL at N = 50"),
        ".1e",
        "chain-law gap {} and the output KL stops falling ({} at N = 25, {} at N = 50)",
        CARD,
    ),
    ("diffusers", ("cosine: step-law gap, float64 copy",), ".1L", "chain-law gap of ${}$", CARD),
    ("diffusers", ("cosine: alpha_T",), ".1e", "(alpha_T = {})", DIFFUSERS),
    (
        "diffusers",
        ("cosine: step-law gap", "cosine: KL at N = 25", "cosine: KL at N = 50"),
        ".1e",
        "(gap {}; KL stalls: {} at N = 25, {} at N = 50)",
        DIFFUSERS,
    ),
    # finding 3
    ("diffusers", ("karras: step-law gap",), ".0e", "(chain-law gap about {})", CARD),
    ("diffusers", ("karras: step-law gap",), ".0e", "(gap about {})", DIFFUSERS),
    # precision, final-step
    (
        "diffusers",
        ("ddim sd: gamma gap", "ddim sd: gamma gap, float64 copy"),
        ".1L",
        "gamma gap ${}$ in float32, ${}$ in the copy",
        CARD,
    ),
    (
        "diffusers",
        ("ddim leading linear: residual std", "ddim leading sd: residual std"),
        ".4f",
        "{} for the linear schedule and {} for the Stable Diffusion schedule",
        CARD,
    ),
    # torchsde
    (
        "torchsde",
        ("euler: slope", "milstein: slope", "srk: slope"),
        ".2f",
        "Measured: euler {}, milstein {}, srk {}",
        CARD,
    ),
    (
        "torchsde",
        ("reversible_heun: weak-order KL at N = 8", "reversible_heun: weak-order KL at N = 16"),
        ".0f",
        "KL {} at N = 8, {} at N = 16",
        CARD,
    ),
    (
        "torchsde",
        tuple(f"reversible_heun: KL at N = {n}" for n in (10, 25, 50)),
        (".0f", ".1f", ".1e"),
        "output KL {} at N = 10, {} at N = 25, {} at N = 50",
        CARD,
    ),
    (
        "torchsde",
        ("reversible_heun: slope over N = 8..64",),
        ".1f",
        "`N = 8..64` would be {}, which",
        CARD,
    ),
    (
        "torchsde",
        ("reversible_heun: slope over N = 128..512",),
        ".0f",
        "On `N = 128..512` (all stable) its order is {},",
        CARD,
    ),
]
"""``(group, keys, format(s), fragment, where)``: the text of ``where`` contains ``fragment``
with its ``{}`` replaced by ``quote(value, format)`` of the measured ``keys`` in order."""


def quoted(entry, numbers: dict) -> str:
    """The fragment of a :data:`QUOTES` entry filled with ``numbers[group][key]``."""
    group, keys, specs, fragment, _ = entry
    specs = (specs,) * len(keys) if isinstance(specs, str) else specs
    return fragment.format(*(quote(numbers[group][k], f) for k, f in zip(keys, specs, strict=True)))


def quote(value: float, spec: str) -> str:
    """``value`` as the text writes it: a Python format spec, exponents without padding
    (``1.4e-3``); ending in ``r``: Python's own form (``1.2e+02``, as the kit's messages);
    ending in ``L``: LaTeX ``1.3 \\cdot 10^{-5}``."""
    if spec.endswith("r"):
        return format(value, spec[:-1])
    if spec.endswith("L"):
        mant, exp = format(value, spec[:-1] + "e").split("e")
        return f"{mant} \\cdot 10^{{{int(exp)}}}"
    s = format(value, spec)
    if "e" in s:
        mant, exp = s.split("e")
        s = f"{mant}e{int(exp)}"
    return s


def text_of(where: str) -> str:
    """The card, or the ``finding`` of claim ``where``, with whitespace runs collapsed (a quote
    may wrap)."""
    if where == CARD:
        return " ".join(DOC.read_text().split())
    from verify.claims import registry

    (claim,) = [c for c in registry.all_claims() if c.id == where]
    return " ".join(claim.finding.split())


def measure(groups) -> dict:
    return {g: MEASURE[g]() for g in groups}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("groups", nargs="*", default=list(MEASURE))
    ap.add_argument("--write", action="store_true", help=f"update {RUNS.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    new = measure(args.groups)
    print(json.dumps(new, indent=1))
    if args.write:
        old = json.loads(RUNS.read_text()) if RUNS.exists() else {}
        old.update(new)  # a group measured now replaces its record whole
        RUNS.write_text(json.dumps(old, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
