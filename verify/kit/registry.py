"""The kit's conventions and checks, in the order they run and are reported.

A check is one module of ``verify.kit.checks`` (its probe, rule, tolerance and message); the
names here are what ``check_sampler(checks=...)`` accepts.
"""

from __future__ import annotations

from verify.kit.checks import BOUNDARY_CHECKS

__all__ = ["CHECKS", "CONVENTIONS", "EXACT_CHECKS"]

CONVENTIONS = ("k-diffusion", "diffusers", "ours")
EXACT_CHECKS = ("weak-order", "step-law", "gamma", "output-kl", *BOUNDARY_CHECKS)
"""The checks that probe the (affine) chain exactly (a Gaussian target)."""
CHECKS = ("consistency", *EXACT_CHECKS)
