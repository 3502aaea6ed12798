"""The claim namespaces, as data: one per source, in report order.

The registry imports ``verify.claims.<key>`` for each namespace; the report and the command
line read the titles, papers and introductions from here (never from module docstrings).
Introductions say what the namespace checks and how; they hold no result numbers (those
come from the run).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Namespace", "NAMESPACES", "namespace"]


@dataclass(frozen=True)
class Namespace:
    """A claim namespace: ``key`` (the id prefix and module name), a section ``title``, the
    ``paper`` it comes from (``None`` for standard theory and the toolkit's own checks) with
    its ``arxiv`` id, the ``doc`` page of this repository holding its mathematics, and a
    plain-text ``intro`` (backticks mark code)."""

    key: str
    title: str
    intro: str
    paper: str | None = None
    arxiv: str | None = None
    doc: str = ""

    @property
    def arxiv_url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.arxiv}" if self.arxiv else None


NAMESPACES: tuple[Namespace, ...] = (
    Namespace(
        "theory",
        "Standard theory",
        "The facts the four papers build on: the reverse family's marginals do not depend on "
        "the stochasticity gamma, the probability-flow ODE preserves KL, each sampler converges "
        "at its weak order, the VE ancestral step is not variance-exact, and the exact chain "
        "laws agree with particles.",
        doc="docs/claims/theory.md",
    ),
    Namespace(
        "stochasticity",
        "Paper 1: stochasticity (arXiv 2506.11378)",
        "The reverse family `dY = [-f Y + (1+gamma)/2 g^2 s] dtau + sqrt(gamma) g dW`: with the "
        "exact score stochasticity corrects errors and KL(q_tau || p_(T-tau)) decays at a "
        "log-Sobolev rate; with an approximate score there is a trade-off whose direction "
        "depends on the structure of the error. The paper's theorems were not available: the "
        "statements checked are labelled reconstructed where they are.",
        "Schaeffer, Rosa, Valle: The Effect of Stochasticity in Score-Based Diffusion Sampling: "
        "a KL Divergence Analysis",
        "2506.11378",
        "docs/claims/stochasticity.md",
    ),
    Namespace(
        "initialization",
        "Paper 2: initialization-aware sampling (arXiv 2603.00772)",
        "Variance-exploding samplers started from a learned start law p_theta close to p_T at "
        "a small sigma_T instead of the prior N(0, sigma_T^2 I): the KL bound's start, score "
        "and discretization terms, short horizons, and heavy tails in d = 100.",
        "Fassina, Cardoso, Le Corff, Romary: Initialization-Aware Score-Based Diffusion Sampling",
        "2603.00772",
        "docs/claims/initialization.md",
    ),
    Namespace(
        "spde",
        "Paper 3: score errors as forward SPDEs (arXiv 2602.08579)",
        "A score error driven by common noise makes the sampler's density a solution of a "
        "stochastic PDE; the quadratic variation of its projection on a radial test function "
        "measures the error early in sampling. The paper's SPDE was not available: the object "
        "checked is the standard stochastic Fokker-Planck calculus, labelled reconstructed.",
        "Seo: Modeling Score Approximation Errors in Diffusion Models via Forward SPDEs",
        "2602.08579",
        "docs/claims/spde.md",
    ),
    Namespace(
        "horizon",
        "Paper 4: diffusion time T (arXiv 2206.05173)",
        "The ELBO bound KL(p_T || prior) + score-matching term along the diffusion time T: the "
        "prior term falls with T, the score term grows, and an auxiliary model bridging p_T "
        "and the prior lets T be small.",
        "Franzese, Rossi, Yang, Finamore, Rossi, Filippone, Michiardi: How Much is Enough? A "
        "Study on Diffusion Times in Score-based Generative Models",
        "2206.05173",
        "docs/claims/horizon.md",
    ),
    Namespace(
        "learned",
        "Learned score networks (torch)",
        "Small score networks trained by denoising score matching on the toolkit's targets, "
        "turned into score callables for the exact-law and particle machinery: the shape of "
        "their error, and the papers' statements with a learned instead of a synthetic score.",
        doc="docs/claims/learned.md",
    ),
    Namespace(
        "tightness",
        "Tightness of the bounds",
        "An adversarial search for the worst case of every bound the claims check: corners "
        "and faces of the parameter space, a Sobol start and bounded local refinement minimise "
        "bound / truth against the exact (or grid) truth; a counterexample is certified at "
        "high precision before it is reported, and the smallest constant that still holds is "
        "reported next to the theorem's.",
        doc="docs/claims/tightness.md",
    ),
    Namespace(
        "schedules",
        "Samplers on real-data Gaussians",
        "Gaussian models of real data (scikit-learn's 8x8 digits; 32x32 patches of its two "
        "sample photographs) on which every k-diffusion sampler's output law is exact: the "
        "KL-optimal noise schedule for each sampler against Karras, uniform log-SNR, uniform t "
        "and the published Align-Your-Steps sigmas, the best constant stochasticity against "
        "the number of steps, and each sampler's exact error with where in the spectrum it "
        "lives. Needs scikit-learn (the data extra).",
        doc="docs/claims/schedules.md",
    ),
    Namespace(
        "conformance",
        "Conformance of samplers",
        "The conformance kit run on samplers: each is fed the exact denoiser of a Gaussian "
        "target, its affine map is recovered exactly, and its consistency, weak order, single "
        "steps and stochasticity are checked against exact answers.",
        doc="docs/claims/conformance.md",
    ),
)


def namespace(key: str) -> Namespace | None:
    """The namespace with this key, or ``None``."""
    return next((ns for ns in NAMESPACES if ns.key == key), None)
