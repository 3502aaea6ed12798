"""Solvers: from a score to the law of a sampler's output.

``grids`` (time grids), ``brownian`` (refinable Brownian paths), ``methods`` (one record per
sampler method: one-step coefficients, gamma rule, orders), ``reverse`` (the reverse family,
validated once), ``particles`` (vectorised particle samplers, rung 4), ``chain_laws`` (exact
laws of Gaussian chains, rung 1-2), ``fokker_planck`` (1-D/2-D density grid, rung 3),
``orders`` (weak and strong convergence orders).
"""
