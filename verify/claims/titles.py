"""The short title of each claim: one complete sentence, written (not cut from the statement).

``Claim.title`` defaults to the entry here (:class:`verify.claims.base.Claim` looks it up by
id when no ``title=`` is given); the full statement stays on the claim's card. A claim added
later passes ``title=`` itself. Each title is a complete sentence ending with a period, with
balanced parentheses, short enough for one line of ``diffusion-verify list``.
"""

from __future__ import annotations

__all__ = ["TITLES"]

TITLES: dict[str, str] = {
    # theory: the standard theory under the papers
    "theory.marginals-independent-of-gamma": (
        "With the exact score and start, the reverse family's marginals do not depend on gamma."
    ),
    "theory.pf-ode-preserves-kl": (
        "The probability-flow ODE preserves the KL to the true marginal; any gamma > 0 lowers it."
    ),
    "theory.discretization-order": "Each sampler's discretization bias shrinks at its weak order.",
    "theory.ve-ancestral-shortfall": (
        "The VE ancestral step falls short of the exact output variance by a closed-form amount."
    ),
    "theory.chain-law-matches-particles": (
        "The exact law of each sampling chain agrees with its particles within their CIs."
    ),
    "theory.kl-scaling": ("A sampler's output KL falls like N^(-2p), the path-space KL like 1/N."),
    # stochasticity (paper 1)
    "stochasticity.exact-score-decay": (
        "With the exact score, KL decays at rate gamma g^2/2 times the Fisher information."
    ),
    "stochasticity.mixture-lsi-bound": (
        "On mixture data, the KL decay is bounded through a log-Sobolev constant of the marginal."
    ),
    "stochasticity.error-structure": (
        "Stochasticity amplifies a score offset and corrects a scale error."
    ),
    "stochasticity.error-direction": (
        "A closed-form criterion says when stochasticity helps against an offset or scale error."
    ),
    "stochasticity.error-structure-mixtures": (
        "The Gaussian error-direction criterion, on a mixture's moments, predicts its direction."
    ),
    "stochasticity.large-gamma-limit": (
        "As gamma grows, the output tends to the approximate score's own equilibrium."
    ),
    "stochasticity.young-lsi-bound": (
        "With a score error, the Young + LSI Gronwall bound holds for every gamma > 0."
    ),
    "stochasticity.gamma-schedule": (
        "A schedule gamma(tau) acts through its clock budget; late beats early for a scale error."
    ),
    "stochasticity.ode-w2-bound": (
        "For the probability-flow ODE, a Gronwall bound controls W2 under a score error."
    ),
    "stochasticity.discretization": (
        "Error correction by stochasticity survives discretization, with a finite best gamma."
    ),
    "stochasticity.simple-datasets": (
        "On a 2-D mixture, particles match the Fokker-Planck density and KL falls for gamma > 0."
    ),
    "stochasticity.simple-datasets-approx": (
        "On a 2-D mixture, stochasticity corrects some score errors and amplifies others."
    ),
    # initialization (paper 2)
    "initialization.prior-kl-decay": (
        "The prior's start KL decays in sigma_T; a fitted start wins below a crossover."
    ),
    "initialization.short-horizon": (
        "A fitted start at a short horizon matches the full-horizon sampler for DDPM and Heun."
    ),
    "initialization.start-error-carried": (
        "A fitted start's error passes through the sampler, unchanged for Heun."
    ),
    "initialization.ve-ancestral-disc": (
        "The bound's discretization term bounds the KL of the VE ancestral chain."
    ),
    "initialization.ve-ancestral-disc-fine-grids": (
        "On grids of at least 10 steps, the discretization term bounds the VE ancestral chain."
    ),
    "initialization.kl-bound-terms": (
        "The initialization-aware KL bound holds term by term against the exact KL."
    ),
    "initialization.heavy-tails": (
        "For heavy-tailed data, a fitted Student-t start recovers tails a Gaussian start loses."
    ),
    # spde (paper 3)
    "spde.qv-identity": (
        "A common-noise score error gives the projections a quadratic variation in closed form."
    ),
    "spde.radial-blind-spot": (
        "The radial QV metric is blind to some score errors that damage the output."
    ),
    "spde.early-evaluation": (
        "The QV metric on the first 10% of sampling ranks visible errors as well as the full run."
    ),
    "spde.early-evaluation-per-profile": (
        "Within one time profile, the early QV metric ranks errors as the full trajectory does."
    ),
    "spde.convexity-stability": (
        "For a log-concave target, the reverse flows contract in W2 at the predicted rate."
    ),
    # horizon (paper 4)
    "horizon.prior-kl-monotone": (
        "KL(p_T || N(0, I)) falls with T and obeys the Bakry-Emery bound under VP."
    ),
    "horizon.bound-monotone-per-t-family": (
        "With a score family that contains the prior's score at each t, the bound falls with T."
    ),
    "horizon.interior-optimum-shared-capacity": (
        "With capacity shared across t, the ELBO bound has an interior optimal horizon."
    ),
    "horizon.tradeoff-ve": "The diffusion-time trade-off, an interior optimum, holds under VE.",
    "horizon.auxiliary-model": (
        "With an approximate score, an auxiliary model shortens the optimal horizon."
    ),
    "horizon.elbo-bound": (
        "The ELBO bound holds term by term along T, under VP and VE, for offset and scale errors."
    ),
    "horizon.auxiliary-likelihood": (
        "With an approximate score, an auxiliary end law shortens the PF-ODE's optimal horizon."
    ),
    "horizon.pf-ode-likelihood": (
        "The probability-flow likelihood equals the exact log-density on Gaussian and GMM data."
    ),
    # learned scores (torch)
    "learned.error-profile": (
        "A learned score's noise-prediction error grows as t -> 0 and in low-density regions."
    ),
    "learned.error-peak": (
        "A learned score's noise-prediction error peaks at an intermediate noise level."
    ),
    "learned.stochasticity-tradeoff": (
        "The affine model of a network's score error predicts what stochasticity does."
    ),
    "learned.stochasticity-corrects": (
        "With a learned score, the reverse SDE ends closer to the data than the ODE."
    ),
    "learned.init-steps-saved": (
        "A learned start law reaches the prior-started sampler's quality in fewer steps."
    ),
    "learned.horizon-optimum": (
        "For networks of fixed capacity, the bound is minimised at an interior horizon."
    ),
    # tightness: every bound searched for its worst case
    "tightness.lsi-rate": "The LSI rate bound holds at every setting searched and is attained.",
    "tightness.young-lsi": "The Young + LSI bound holds at every setting searched.",
    "tightness.ode-w2": (
        "The probability-flow W2 Gronwall bound holds at every setting searched and is attained."
    ),
    "tightness.kl-bound": (
        "The initialization-aware KL bound holds for the exponential integrator at every setting."
    ),
    "tightness.kl-bound-init": (
        "In continuous time with the exact score, the start term alone bounds the KL."
    ),
    "tightness.kl-bound-score": (
        "In continuous time from the exact start, the score term alone bounds the KL."
    ),
    "tightness.kl-bound-disc": (
        "The discretization term bounds the exponential integrator's KL everywhere searched."
    ),
    "tightness.ve-ancestral-disc": (
        "On Karras grids of 10 or more steps, the discretization term bounds the VE ancestral KL."
    ),
    "tightness.ve-ancestral-disc-steep": (
        "On steep Karras grids (rho >= 5), the discretization term bounds the VE ancestral KL."
    ),
    "tightness.elbo": "The ELBO bound holds at every horizon, data law and score error searched.",
    "tightness.bakry-emery-vp": (
        "The Bakry-Emery decay of the prior KL under VP holds and cannot be improved."
    ),
    "tightness.mixture-lsi-bakry-emery": (
        "The Bakry-Emery LSI constant of a two-component mixture is a valid upper bound."
    ),
    "tightness.mixture-lsi-ccnw": (
        "A reconstructed Chen-Chewi-Niles-Weed constant bounds a two-component mixture's LSI."
    ),
    "tightness.table": (
        "Every bound the claims check holds wherever searched, except the recorded findings."
    ),
    # conformance: samplers against exact answers
    "conformance.own-samplers": "Our own samplers pass every check of the conformance kit.",
    "conformance.public-samplers": (
        "Re-implementations of published samplers pass the kit with their published orders."
    ),
    "conformance.mutants-caught": "The kit catches each deliberately planted sampler bug.",
    "conformance.k-diffusion": (
        "Every k-diffusion sampler implements its published update rule exactly."
    ),
    "conformance.k-diffusion-orders": (
        "Every k-diffusion sampler with a stated order converges at that weak order."
    ),
    "conformance.k-diffusion-startup-orders": (
        "Every k-diffusion sampler converges at least at order min(p, 2) on fine grids."
    ),
    "conformance.diffusers": (
        "The main diffusers schedulers implement the rules they name on their own levels."
    ),
    "conformance.diffusers-orders": (
        "Each diffusers scheduler converges at its method's weak order on its default timesteps."
    ),
    "conformance.diffusers-karras-orders": (
        "On Karras sigmas, the diffusers schedulers converge at their method's weak order."
    ),
    "conformance.torchsde": (
        "torchsde's sdeint methods converge at least at their declared weak orders."
    ),
}
