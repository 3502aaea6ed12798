r"""``torchsde.sdeint`` on the reverse family of a linear SDE with the exact score.

The reverse family (docs/theory.md#the-reverse-family) in reverse time ``tau = T - t``:
``dY = [-f(t) Y + (1 + gamma)/2 g2(t) s(Y, t)] dtau + sqrt(gamma g2(t)) dW``, with the exact
score of Gaussian data ``s(y, t) = -(a^2 Sigma + sigma2 I)^{-1} (y - a m)`` (``a = alpha(t)``,
``sigma2 = sigma2(t)``), handed to torchsde as an SDE with ``noise_type = "additive"``
(``sde_type`` Ito; Stratonovich for ``reversible_heun``: for additive noise both are the same
SDE). ``sdeint(sde, y0, [tau_0, tau_1], method=..., dt=h, bm=...)`` is called as published
with a fixed step ``h``.

**Probing.** The Brownian motion is the kit's own :class:`ProbeBrownian` (a
``torchsde.BrownianInterval`` stand-in): the increment over each interval ``[ta, tb]`` is
``W = sqrt(h) z`` and, when a method asks for it (``srk``, ``return_U=True``), the space-time
Levy area ``U = h (W/2 + H)``, ``H = sqrt(h/12) z'`` (the convention of torchsde's
``_H_to_U``), with ``z, z'`` drawn from the kit's noise source once per interval. Every method
is then affine in ``(y0, z, z')`` and the kit recovers its exact output law.

:func:`check_sdeint` runs the kit's checks: ``weak-order`` against the order the method
class declares (``torchsde`` methods' ``weak_order``; the declared order is a guarantee, so
the rule is ``measured >= declared - 0.3``, and a higher measured order is reported),
``step-law`` (``euler`` and ``milstein``: for additive noise both are Euler-Maruyama, our
``euler`` method record, exact to ``1e-6``; ``srk``, ``reversible_heun``: n/a, no reference)
and ``output-kl`` (N = 10, 25, 50 uniform steps, KL to the exact marginal at ``t_min``).
"""

from __future__ import annotations

import math

import numpy as np

from analytic import VP, Gaussian
from verify.kit.checks.faults import SamplerFault, fault_result

__all__ = ["TORCHSDE", "check_sdeint", "ProbeBrownian"]

TORCHSDE = {
    "euler": "ito",
    "milstein": "ito",
    "srk": "ito",
    "reversible_heun": "stratonovich",
}
"""torchsde method -> the SDE type it is run with."""

T_MIN = 1e-2


def _brownian_base():
    from torchsde._brownian import BaseBrownian

    return BaseBrownian


def ProbeBrownian(source, shape):
    """A torchsde Brownian motion whose increments (and space-time Levy areas) come from the
    kit's noise ``source`` (``source.draw(shape)``), one draw per interval and quantity."""
    import torch

    class _Probe(_brownian_base()):
        def __init__(self):
            self._w, self._h = {}, {}

        def __call__(self, ta, tb=None, return_U=False, return_A=False):
            if tb is None:
                raise ValueError("ProbeBrownian answers interval queries bm(ta, tb) only")
            key = (float(ta), float(tb))
            h = key[1] - key[0]
            if key not in self._w:
                self._w[key] = math.sqrt(h) * torch.from_numpy(source.draw(shape))
            W = self._w[key]
            if not return_U:
                return W
            if key not in self._h:
                self._h[key] = math.sqrt(h / 12.0) * torch.from_numpy(source.draw(shape))
            U = h * (0.5 * W + self._h[key])
            return (W, U) if not return_A else (W, U, None)

        def __repr__(self):
            return "ProbeBrownian()"

        dtype = torch.float64
        device = torch.device("cpu")
        shape = property(lambda self: torch.Size(shape))
        levy_area_approximation = "space-time"

    return _Probe()


def _reverse_sde(sde, data, gamma, sde_type):
    import torch

    T = float(sde.T)
    m, S = np.asarray(data.mean, dtype=np.float64), np.atleast_2d(data.cov)
    d = data.dim
    cache = {}

    class _Reverse(torch.nn.Module):
        noise_type = "additive"

        def __init__(self):
            super().__init__()
            self.sde_type = sde_type

        def f(self, tau, y):
            key = float(tau)
            if key not in cache:  # y' = -f y + (1+gamma)/2 g2 s(y): an affine map A y + b
                t = T - key
                a, s2 = float(sde.alpha(t)), float(sde.sigma2(t))
                P = np.linalg.inv(a * a * S + s2 * np.eye(d))
                c = 0.5 * (1.0 + gamma) * float(sde.g2(t))
                cache[key] = (-float(sde.f(t)) * np.eye(d) - c * P, c * (P @ (a * m)))
            A, b = cache[key]
            return torch.from_numpy(y.detach().numpy() @ A.T + b)

        def g(self, tau, y):
            t = T - float(tau)
            c = math.sqrt(gamma * float(sde.g2(t)))
            return (c * torch.eye(d, dtype=torch.float64)).expand(y.shape[0], d, d)

    return _Reverse()


class _SdeintAdapter:
    """The kit's adapter interface for one torchsde method (forward times ``t``)."""

    convention = "torchsde"
    single = None

    def __init__(self, method, sde, data, gamma):
        if method not in TORCHSDE:
            raise ValueError(f"method must be one of {sorted(TORCHSDE)}, got {method!r}")
        self.method, self.sde, self.data, self.gamma = method, sde, data, float(gamma)
        self._sde = _reverse_sde(sde, data, self.gamma, TORCHSDE[method])

    def t_of_sigma(self, s):
        return float(self.sde.t_of_sigma(s))

    def nodes(self, n, zero=False):
        return np.linspace(float(self.sde.T), T_MIN, n + 1)

    def full(self, n, zero=False):
        t = self.nodes(n)
        return t, t

    def steps(self, n):
        t = self.nodes(n)
        return [(t[k], t[k + 1], t[k : k + 2]) for k in range(n)]

    def marginal(self, t):
        return self.sde.marginal(self.data, float(t))

    def run(self, x, seg, source):
        import torch
        import torchsde

        from verify.kit.adapters.torch_bridge import single_thread

        seg = np.asarray(seg, dtype=np.float64)
        T = float(self.sde.T)
        tau = torch.tensor([T - seg[0], T - seg[-1]], dtype=torch.float64)
        h = (seg[0] - seg[-1]) / (len(seg) - 1)
        y0 = torch.from_numpy(np.array(x, dtype=np.float64))
        bm = ProbeBrownian(source, tuple(y0.shape))
        n = len(seg) - 1
        try:
            with single_thread():
                ys = torchsde.sdeint(self._sde, y0, tau, method=self.method, dt=h, bm=bm)
        except (ArithmeticError, LookupError, RuntimeError, TypeError, ValueError) as exc:
            raise SamplerFault(n, "sdeint", exc) from exc
        out = ys[-1].detach().numpy().astype(np.float64)
        if not np.all(np.isfinite(out)):
            raise SamplerFault(n, "sdeint", "its output is NaN or inf")
        return out


def declared_weak_order(method):
    """The ``weak_order`` torchsde's method class declares."""
    from torchsde._core import methods

    return float(methods.select(method=method, sde_type=TORCHSDE[method]).weak_order)


def check_sdeint(method, *, sde=None, gamma=1.0, data=None, quick=True, seed=0, order_steps=None):
    """Check ``torchsde.sdeint(method=...)`` on the reverse family of ``sde`` (default
    ``VP(0.1, 20)``) with the exact score of ``data`` (default the kit's 2-D target;
    ``order_steps``: the weak order's step counts, default 8..64 quick / 8..256 full): a
    :class:`verify.kit.conformance.ConformanceReport` with ``weak-order``, ``step-law`` and
    ``output-kl`` (module docstring)."""
    from verify.kit import conformance as C

    sde = VP(0.1, 20.0) if sde is None else sde
    data = C.default_target() if data is None else data
    if not isinstance(data, Gaussian):
        raise ValueError("data must be an analytic.Gaussian (the exact checks need it)")
    ad = _SdeintAdapter(method, sde, data, gamma)
    rng = np.random.default_rng([seed, 11])
    d = data.dim
    n_list = [8, 16, 32, 64] if quick else [8, 16, 32, 64, 128, 256]
    if order_steps is not None:
        n_list = [int(n) for n in order_steps]
        if len(n_list) < 3 or n_list != sorted(set(n_list)) or n_list[0] < 1:
            raise ValueError(
                f"order_steps must be >= 3 increasing positive integers: {order_steps!r}"
            )
    declared = declared_weak_order(method)
    checks = {
        "weak-order": C._guarded("weak-order", C._check_order, ad, declared, None, n_list, d, rng)
    }
    if method in ("euler", "milstein"):
        spec = C.MethodSpec(1, None, C._family_law("euler", float(gamma)))
        try:
            checks["step-law"] = C._check_steps(ad, spec, {}, 5, d, rng)[0]
        except SamplerFault as exc:
            checks["step-law"] = fault_result("step-law", exc)
    else:
        checks["step-law"] = C.CheckResult("step-law", "n/a", "no reference rule of this method")
    checks["output-kl"] = C._guarded("output-kl", _output_kl, ad, d, rng)
    return C.ConformanceReport(
        f"torchsde.sdeint[{method}]", "torchsde", method, {"gamma": float(gamma)}, checks
    )


def _output_kl(ad, d, rng):
    from verify.kit import conformance as C

    rows, kls = [], []
    for n in C.OUTPUT_KL_STEPS:
        nodes, seg = ad.full(n)
        maps = C._probe(ad, seg, d, rng, verify=n == C.OUTPUT_KL_STEPS[-1])
        law = C._push(maps, ad.marginal(nodes[0]))
        k = C._safe_kl(law, ad.marginal(nodes[-1]))
        kls.append(k)
        rows.append([n, float(nodes[-1]), k])
    ok = math.isfinite(kls[-1]) and kls[-1] <= max(kls[0] / 4.0, 1e-12)
    return C.CheckResult(
        "output-kl",
        "holds" if ok else "fails",
        f"KL(output law || p_tmin) = {', '.join(f'{k:.2e}' for k in kls)} at N = "
        f"{', '.join(map(str, C.OUTPUT_KL_STEPS))}",
        ["N", "t_min", "KL(output law||p_tmin)"],
        rows,
        {"kl": kls, "n": list(C.OUTPUT_KL_STEPS)},
    )
