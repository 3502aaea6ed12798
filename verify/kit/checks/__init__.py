"""The kit's checks, one module each (its probe, rule, tolerance and message).

``faults``: what a sampler's own failure (an exception, NaN / inf) becomes; ``precision``:
the tolerances derived from the precision a sampler computes in; ``final_step``,
``start_law``, ``bookkeeping``, ``clipping``: the checks of issue 21 item 3. The older checks
(consistency, weak-order, step-law, gamma, output-kl) are in ``verify.kit.conformance``.
"""
