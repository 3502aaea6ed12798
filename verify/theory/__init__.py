"""Paper-specific quantities built on the solvers.

``kl_dynamics`` (KL identities and log-Sobolev bounds along the reverse family, arXiv
2506.11378), ``start_laws`` (start laws, EM-fitted mixtures and the initialization-aware KL
bound, arXiv 2603.00772), ``common_noise`` (score errors driven by common noise, radial
projections and their quadratic variation, arXiv 2602.08579).
"""
