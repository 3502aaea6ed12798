"""A duck-typed NumPy diffusers-style scheduler (``set_timesteps``, ``timesteps``,
``alphas_cumprod``, ``step``), reported in EDM coordinates."""

from __future__ import annotations

import math

import numpy as np

from analytic import EDM
from verify.kit import guard_args, guard_call
from verify.kit.denoisers import _denoiser
from verify.kit.noise import _SourceGenerator


class _DiffusersAdapter:
    """A diffusers-style scheduler; everything is reported in EDM coordinates."""

    convention = "diffusers"

    def __init__(self, scheduler, data, knobs):
        self.sched = scheduler() if isinstance(scheduler, type) else scheduler
        self.data, self.knobs = data, knobs
        ptype = getattr(self.sched, "prediction_type", None)
        if ptype is None:
            ptype = getattr(getattr(self.sched, "config", None), "prediction_type", "epsilon")
        if ptype not in ("epsilon", "sample", "v_prediction"):
            raise ValueError(f"unsupported prediction_type {ptype!r}")
        self.ptype = ptype
        ac = np.asarray(self.sched.alphas_cumprod, dtype=np.float64)
        self.ac = ac
        self._den = _denoiser(data)
        final = getattr(self.sched, "final_alpha_cumprod", None)
        self.final = float(ac[0] if final is None else final)
        smax = math.sqrt((1 - ac.min()) / ac.min())
        self.sde = EDM(smax * 1.01)

    def _abars(self, n):
        self.sched.set_timesteps(n)
        ts = guard_args.scheduler_timesteps(self.sched, n, len(self.ac))
        ab = np.append(self.ac[ts], self.final)
        return ts, ab

    def nodes(self, n, zero=False):
        _, ab = self._abars(n)
        return np.sqrt((1.0 - ab) / ab)

    def full(self, n, zero=False):
        return self.nodes(n), (n, 0, n)

    def steps(self, n):
        t = self.nodes(n)
        return [(t[k], t[k + 1], (n, k, k + 1)) for k in range(n)]

    single = None  # no free choice of step: the small-step gamma check is not available

    def _output(self, x_vp, ab, x_edm, sigma):
        D = self._den(x_edm, sigma)
        eps = (x_edm - D) / sigma
        if self.ptype == "epsilon":
            return eps
        if self.ptype == "sample":
            return D
        return math.sqrt(ab) * eps - math.sqrt(1.0 - ab) * D

    def run(self, x, seg, source):
        n, k0, k1 = seg
        x = np.array(x, dtype=np.float64)
        steps = np.arange(k0, k1 + 1, dtype=np.float64)  # the calls, for the guard's label
        with guard_call.SamplerCall(self.sched, x, steps, steps, "diffusers") as call:
            ts, ab = self._abars(n)
            x_vp = x * math.sqrt(ab[k0])
            gen = _SourceGenerator(source)
            for k in range(k0, k1):
                sigma = math.sqrt((1.0 - ab[k]) / ab[k])
                out = self.sched.step(
                    self._output(x_vp, ab[k], x_vp / math.sqrt(ab[k]), sigma),
                    ts[k],
                    x_vp,
                    generator=gen,
                    **self.knobs,
                )
                x_vp = out[0] if isinstance(out, tuple) else getattr(out, "prev_sample", out)
                x_vp = call.output(x_vp)  # an array of the right shape, finite, each step
        return x_vp / math.sqrt(ab[k1])

    def marginal(self, t):
        return self.sde.marginal(self.data, float(t)) if t > 0 else self.data
