"""Optimal noise schedules from the exact output law of a sampler on a Gaussian data model.

``optimal_grid(sde, data, n_steps, method, gamma, objective)`` (:mod:`.optimal`; with
``gamma="optimal"`` the stochasticity is optimised too, ``optimal_gamma`` on a fixed grid),
the exact 1-D recursions of the k-diffusion samplers (:mod:`.chains`) and the standard
schedules it is compared with (:mod:`.standard`); the mathematics is in their docstrings.
"""

from .chains import CHAIN_METHODS, output_moments
from .optimal import OptimalGrid, evaluate_grid, optimal_gamma, optimal_grid
from .standard import standard_grids

__all__ = [
    "CHAIN_METHODS",
    "OptimalGrid",
    "evaluate_grid",
    "optimal_gamma",
    "optimal_grid",
    "output_moments",
    "standard_grids",
]
