"""Paper-specific quantities built on the solvers.

Paper 1 (stochasticity, arXiv 2506.11378): ``kl_dynamics`` (KL identities and log-Sobolev
bounds along the reverse family), ``error_direction`` (when stochasticity helps or hurts an
offset or a scale score error). Paper 2 (initialization, arXiv 2603.00772): ``start_laws``
(start laws, EM-fitted mixtures, the KL bound's terms, the PF-ODE likelihood),
``flow_density`` (the exact output density of a deterministic sampler), ``student_t``
(a heavy-tailed start law), ``tails`` (tail quantiles along directions). Paper 3 (score errors
as SPDEs, arXiv 2602.08579): ``common_noise`` (common-noise error fields, radial projections,
their quadratic variation). Paper 4 (diffusion time, arXiv 2206.05173): ``elbo`` (the ELBO
bound's terms along T, auxiliary models). Shared: ``mixture_calculus`` (Hessians and
Laplacians of mixture log-densities). The mathematics is in docs/claims/<namespace>.md.
"""
