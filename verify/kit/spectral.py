r"""A sampler's exact output law on a spectral Gaussian, from one batch run at full d.

For data $N(m, U \mathrm{diag}(\lambda) U^\top)$ (``analytic.Gaussian.from_spectrum``) the EDM
denoiser is $D(x, \sigma) = m + U \mathrm{diag}(a) U^\top (x - m)$, $a = \lambda / (\lambda +
\sigma^2)$ (Karras et al. 2022, arXiv 2206.00364, §2). A sampler built from denoiser calls,
linear combinations with scalar coefficients and injected standard normals
$z_c$ (the kit's affine form, ``verify.kit.conformance``) maps its start $x_T$ to

$$ x_0 = B x_T + u + \sum_c L_c z_c, \qquad B = U \mathrm{diag}(g) U^\top,\quad
   L_c = U \mathrm{diag}(l_c) U^\top, $$

every matrix diagonal in the data's eigenbasis. So one run on a batch of ``3 + n_draws``
rows recovers everything (instead of the kit's dense probe of $1 + d + n_c d$ rows):

* row 0: $x_T = c$ (the data mean), no noise: $B c + u$;
* row 1: $x_T = c + U \mathbf 1$, no noise: $(B c + u) + U g$, so $g = U^\top(\text{row}_1 -
  \text{row}_0)$;
* row $2 + c$: $x_T = c$, noise draw $c$ equal to $U \mathbf 1$ (the others zero):
  $l_c = U^\top(\text{row}_{2+c} - \text{row}_0)$;
* the last row: a random start and random draws, which the recovered map must reproduce
  (relative residual at most the kit's affinity tolerance, else :class:`NotAffineError`):
  a sampler whose rows interact, or whose operations are not diagonal in the eigenbasis
  (clipping, thresholding, per-coordinate step control), fails here.

The output law for a start $N(\mu_0, U \mathrm{diag}(v_0) U^\top)$ is then
$N(U(g \odot \mu_0' + u'), U \mathrm{diag}(g^2 v_0 + q) U^\top)$ with $q = \sum_c l_c^2$
(primes: eigen coefficients), and its KL and $W_2$ to the data split over directions
(:func:`spectral_error`). Each sampler call costs $O(n_{rows}\, d^2)$ (dense basis) or
$O(n_{rows}\, d \log d)$ (Hartley basis), against $O(d^3)$ per call for the dense probe.

**Coordinates.** Such a sampler commutes with an orthogonal change of coordinates (its
normals stay standard normal), so it can equally be run on the data written in its own
eigenbasis, $N(U^\top m, \mathrm{diag}(\lambda))$, where the denoiser is diagonal and a call
costs $O(n_{rows}\, d)$: ``coordinates="eigen"`` (the default, for sweeps). ``"data"`` runs
it in the data's coordinates, where the verification row also tests that the sampler is
diagonal in the data's eigenbasis (a sampler that clips pixels fails there, not in
``"eigen"``); the two agree to rounding for the samplers built as above (tested).

Entry points: :func:`kdiffusion_map` (a sampler in the k-diffusion convention: the real
``k_diffusion.sampling.sample_*`` on float64 tensors, or a NumPy one such as
``verify.kit.references``), :func:`scheduler_map` (a diffusers scheduler through
``verify.kit.adapters.schedulers.SchedulerAdapter``), and :func:`probe_map` for any
``run(x, source)``.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from analytic import Gaussian
from analytic.spectral import IdentityBasis
from verify.kit.conformance import NotAffineError

__all__ = [
    "AFFINE_RTOL",
    "COORDINATES",
    "SpectralMap",
    "in_coordinates",
    "kdiffusion_map",
    "probe_map",
    "scheduler_map",
    "spectral_denoiser",
    "spectral_error",
]

AFFINE_RTOL = 1e-7
"""The kit's affinity tolerance for float64 samplers (``verify.kit.conformance.AFFINE_RTOL``)."""


COORDINATES = ("eigen", "data")


def in_coordinates(
    data: Gaussian,
    coordinates: str,
) -> Gaussian:
    r"""``data`` itself (``"data"``) or written in its eigenbasis (``"eigen"``: mean $U^\top m$,
    covariance $\mathrm{diag}(\lambda)$, the standard basis)."""
    lam, _ = _spectral(data)
    if coordinates == "data":
        return data
    if coordinates != "eigen":
        raise ValueError(f"coordinates must be one of {COORDINATES}, got {coordinates!r}")
    return Gaussian.from_spectrum(data.mean_coefficients, lam, IdentityBasis(len(lam)))


def _in_basis_of(m, data):
    """The map ``m`` (probed in some coordinates) as a map in ``data``'s eigenbasis."""
    m.basis = _spectral(data)[1]
    return m


def _spectral(data):
    cov = getattr(data, "covariance", None)
    if not isinstance(data, Gaussian) or cov is None or cov.kind != "spectral":
        raise ValueError(
            "the spectral probe needs a Gaussian in spectral form (Gaussian.from_spectrum or "
            f"verify.data.gaussian_model), got {type(data).__name__}"
        )
    return np.asarray(cov.eigenvalues, dtype=np.float64), cov.basis


def spectral_denoiser(
    data: Gaussian,
) -> Callable[[np.ndarray, ArrayLike], np.ndarray]:
    """``D(x, sigma)`` on rows ``x`` (n, d), ``sigma`` a number or one per row:
    $m + U\\,\\mathrm{diag}(\\lambda/(\\lambda + \\sigma^2))\\,U^\\top (x - m)$ (module
    docstring), in $O(n d^2)$ (dense basis) without forming a $d \\times d$ matrix."""
    lam, basis = _spectral(data)
    m = np.asarray(data.mean, dtype=np.float64)

    def D(x, sigma):
        x = np.asarray(x, dtype=np.float64)
        s = np.asarray(sigma, dtype=np.float64).reshape(-1)
        if s.size == 1:
            s = np.full(x.shape[0], float(s[0]))
        if s.size != x.shape[0]:
            raise ValueError(f"model got sigma of shape {np.shape(sigma)} for {x.shape[0]} rows")
        if not np.all(np.isfinite(s)) or np.any(s < 0):
            raise ValueError(f"model got a sigma that is negative or not finite: {s}")
        fac = lam / (lam + s[:, None] ** 2)
        return m + basis.from_eigen(basis.to_eigen(x - m) * fac)

    return D


@dataclass
class SpectralMap:
    """The recovered map $x_T \\mapsto B x_T + u + \\sum_c L_c z_c$ in the eigenbasis.

    ``gain`` $g$, ``offset`` $u' = U^\\top u$, ``noise`` $q = \\sum_c l_c^2$ (each ``(d,)``),
    ``draws``: how many noise draws the sampler made, ``residual``: the relative residual of
    the verification row, ``tolerance`` the one it was held to."""

    gain: np.ndarray
    offset: np.ndarray
    noise: np.ndarray
    basis: object
    draws: int
    residual: float
    tolerance: float
    notes: dict = field(default_factory=dict)

    def law(
        self,
        start_mean: ArrayLike,
        start_var: ArrayLike,
    ) -> Gaussian:
        """The output law for a start $N(\\mu_0, U\\mathrm{diag}(v_0)U^\\top)$: ``start_mean``
        the mean (``(d,)``, standard coordinates), ``start_var`` $v_0$ (a number: isotropic,
        or ``(d,)`` eigenvalues in the same basis)."""
        d = len(self.gain)
        mu = self.basis.to_eigen(np.asarray(start_mean, dtype=np.float64).reshape(1, d))[0]
        v0 = np.broadcast_to(np.asarray(start_var, dtype=np.float64), (d,))
        if not np.all(np.isfinite(v0)) or np.any(v0 < 0):
            raise ValueError("start_var must be finite and >= 0")
        mean = self.basis.from_eigen((self.gain * mu + self.offset)[None])[0]
        var = self.gain**2 * v0 + self.noise
        return Gaussian.from_spectrum(mean, var, self.basis)

    def law_of(self, start: Gaussian) -> Gaussian:
        """The output law for a start law ``start`` in spectral form in the same basis."""
        lam, basis = _spectral(start)
        if basis != self.basis:
            raise ValueError("the start law must be spectral in the map's basis")
        return self.law(start.mean, lam)


class _ProbeDraws:
    """Noise draws of the probe batch (module docstring): draw ``c`` is ``U 1`` in row
    ``2 + c`` (while ``c < room``), random in the last row, zero elsewhere."""

    def __init__(self, n_rows, d, room, e, rng):
        self.n_rows, self.d, self.room, self.e, self.rng = n_rows, d, room, e, rng
        self.calls = 0
        self.recorded = []

    def draw(self, shape):
        shape = tuple(int(s) for s in shape)
        if shape != (self.n_rows, self.d):
            raise NotAffineError(
                f"the sampler drew noise of shape {shape}, not the batch's {(self.n_rows, self.d)}"
                ": only normals shaped like x can be probed"
            )
        c = self.calls
        self.calls += 1
        z = np.zeros(shape)
        if c < self.room:
            z[2 + c] = self.e
        r = self.rng.standard_normal(self.d)
        self.recorded.append(r)
        z[-1] = r
        return z


def probe_map(
    run: Callable[[np.ndarray, object], np.ndarray],
    data: Gaussian,
    *,
    room: int = 8,
    rng: np.random.Generator | int = 0,
    tol: float = AFFINE_RTOL,
    center: ArrayLike | None = None,
) -> SpectralMap:
    """:class:`SpectralMap` of ``run(x, source) -> x_out`` on ``data`` (module docstring).

    ``run`` runs the sampler on the rows of ``x`` (``(n, d)`` NumPy), drawing every standard
    normal as ``source.draw(x.shape)``. ``room``: noise draws the first batch has rows for (it
    is rerun with more room if the sampler drew more). ``tol``: the affinity tolerance.
    ``center``: where the probes sit (default the data mean)."""
    lam, basis = _spectral(data)
    d = len(lam)
    gen = np.random.default_rng(rng)
    c = np.asarray(data.mean if center is None else center, dtype=np.float64)
    e = basis.from_eigen(np.ones((1, d)))[0]
    xr = c + 2.0 * basis.from_eigen(np.sqrt(lam)[None] * gen.standard_normal((1, d)))[0]
    runs = 0
    while True:
        n_rows = 3 + room
        X = np.tile(c, (n_rows, 1))
        X[1] += e
        X[-1] = xr
        src = _ProbeDraws(n_rows, d, room, e, np.random.default_rng(gen.integers(2**63)))
        out = np.asarray(run(X, src), dtype=np.float64)
        runs += 1
        if out.shape != X.shape:
            raise NotAffineError(f"the sampler returned shape {out.shape} for input {X.shape}")
        if src.calls <= room:
            break
        room = src.calls
    nc = src.calls
    W = basis.to_eigen(out - out[0])
    gain = W[1]
    ls = W[2 : 2 + nc]
    out0 = basis.to_eigen(out[:1])[0]
    c_eig = basis.to_eigen(c[None])[0]
    offset = out0 - gain * c_eig
    pred_eig = out0 + gain * (basis.to_eigen(xr[None])[0] - c_eig)
    for lc, r in zip(ls, src.recorded, strict=True):
        pred_eig = pred_eig + lc * basis.to_eigen(r[None])[0]
    pred = basis.from_eigen(pred_eig[None])[0]
    err = float(np.max(np.abs(out[-1] - pred)) / (1.0 + np.max(np.abs(out[-1]))))
    if not (math.isfinite(err) and err <= tol):
        raise NotAffineError(
            f"the recovered map does not reproduce a random start and noise: relative residual "
            f"{err:.1e} > {tol:.1e} (not affine, or not diagonal in the data's eigenbasis)"
        )
    noise = np.sum(ls * ls, axis=0) if nc else np.zeros(d)
    return SpectralMap(gain, offset, noise, basis, nc, err, tol, {"runs": runs, "rows": n_rows})


# ---------------------------------------------------------------------------- k-diffusion
def _uses_torch(fn) -> bool:
    f = inspect.unwrap(fn)
    mod = getattr(f, "__module__", "") or ""
    return mod.startswith("k_diffusion") or "torch" in getattr(f, "__globals__", {})


def _accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def kdiffusion_map(
    sampler: Callable,
    data: Gaussian,
    sigmas: ArrayLike,
    *,
    rng: np.random.Generator | int = 0,
    coordinates: str = "eigen",
    **knobs: object,
) -> SpectralMap:
    """:class:`SpectralMap` of a k-diffusion-convention sampler ``sampler(model, x, sigmas,
    **knobs)`` on ``sigmas`` (decreasing EDM noise levels, k-diffusion's form, usually ending
    at 0), with the exact denoiser :func:`spectral_denoiser` of ``data``.

    A sampler whose module uses torch (``k_diffusion.sampling``) runs on float64 tensors, its
    ``noise_sampler`` and ``torch.randn_like`` fed by the probe
    (``verify.kit.adapters.torch_bridge.randn_from``); otherwise on NumPy arrays.
    ``coordinates``: module docstring."""
    target = data
    data = in_coordinates(data, coordinates)
    s = np.asarray(sigmas, dtype=np.float64)
    if s.ndim != 1 or len(s) < 2 or not np.all(np.isfinite(s)) or np.any(np.diff(s) >= 0):
        raise ValueError(f"sigmas must be a strictly decreasing finite 1-D array, got {sigmas!r}")
    den = spectral_denoiser(data)
    takes_ns = _accepts(sampler, "noise_sampler")
    room = len(s) + 1
    if not _uses_torch(sampler):

        def run(x, src):
            kw = dict(knobs)
            if takes_ns:
                kw["noise_sampler"] = lambda sigma, sigma_next: src.draw(x.shape)
            return sampler(den, x.copy(), s.copy(), **kw)

        return _in_basis_of(probe_map(run, data, room=room, rng=rng), target)

    import torch

    from verify.kit.adapters import torch_bridge as tb

    def model(x, sigma, **extra):
        return torch.from_numpy(den(tb.to_numpy(x), tb.to_numpy(sigma))).to(x.dtype)

    def run(x, src):
        xt = torch.from_numpy(np.array(x, dtype=np.float64))
        kw = dict(knobs)
        if takes_ns:
            kw["noise_sampler"] = lambda sigma, sigma_next: torch.from_numpy(src.draw(x.shape))
        if _accepts(sampler, "disable"):
            kw.setdefault("disable", True)
        dtype = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            with tb.randn_from(src), tb.single_thread(), warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                out = sampler(model, xt, torch.from_numpy(s.copy()), **kw)
        finally:
            torch.set_default_dtype(dtype)
        return tb.to_numpy(out)

    return _in_basis_of(probe_map(run, data, room=room, rng=rng), target)


# ------------------------------------------------------------------------------ diffusers
def scheduler_map(
    scheduler: object,
    data: Gaussian,
    n_steps: int,
    *,
    rng: np.random.Generator | int = 0,
    float64: bool = True,
    coordinates: str = "eigen",
    **knobs: object,
) -> tuple[SpectralMap, np.ndarray]:
    """``(SpectralMap, levels)`` of a diffusers scheduler (an instance or class) run for
    ``n_steps`` on its own noise levels through ``verify.kit.adapters.schedulers.
    SchedulerAdapter`` (EDM coordinates: the map takes $x$ at ``levels[0]`` to the output at
    ``levels[-1]``, usually 0). ``float64``: run the float64 copy of the scheduler where
    diffusers keeps float32 (the exact law of the algorithm, not of its rounding); otherwise
    the affinity tolerance is the kit's for the scheduler's precision. ``coordinates``:
    module docstring."""
    from verify.kit.adapters.schedulers import SchedulerAdapter
    from verify.kit.checks.precision import affine_tol

    target = data
    data = in_coordinates(data, coordinates)
    ad = SchedulerAdapter(scheduler, data, knobs, spectral_denoiser(data))
    promoted = ad.float64() if float64 else None
    ad = promoted or ad
    levels, seg = ad.full(int(n_steps))
    tol = max(AFFINE_RTOL, affine_tol(ad)[0])
    m = probe_map(lambda x, src: ad.run(x, seg, src), data, room=len(levels) + 1, rng=rng, tol=tol)
    m.notes["float64_copy"] = promoted is not None
    return _in_basis_of(m, target), np.asarray(levels, dtype=np.float64)


# ------------------------------------------------------------------------------- the error
def spectral_error(
    law: Gaussian,
    data: Gaussian,
    *,
    leading: float = 0.1,
    trailing: float = 0.5,
) -> dict:
    r"""KL and $W_2$ of ``law`` against ``data`` (both spectral in one basis), per direction.

    ``kl`` $= \sum_i k_i$, $k_i = \frac12[h(v_i/\lambda_i - 1) + e_i^2/\lambda_i]$ ($h(u) = u -
    \log(1+u)$; $v$, $e$ the output variance and mean error in the eigenbasis), ``w2`` $=
    (\sum_i e_i^2 + (\sqrt{v_i} - \sqrt{\lambda_i})^2)^{1/2}$, ``kl_leading`` /
    ``kl_trailing``: the share of KL from the ``leading`` fraction of directions with the
    largest $\lambda$ (coarse scales) and the ``trailing`` fraction with the smallest (fine
    scales); ``kl_terms``: the $k_i$ in the basis' order."""
    from verify.schedules.chains import kl_per_direction, w2_squared_per_direction

    lp, bp = _spectral(law)
    lq, bq = _spectral(data)
    if bp != bq:
        raise ValueError("spectral_error needs two laws spectral in the same basis")
    e = law.mean_coefficients - data.mean_coefficients
    k = kl_per_direction(e, lp, lq)
    w = w2_squared_per_direction(e, lp, lq)
    order = np.argsort(-lq, kind="stable")
    lead = order[: max(1, int(leading * len(lq)))]
    trail = order[len(lq) - max(1, int(round(trailing * len(lq)))) :]
    total = float(k.sum())
    share = (lambda idx: float(k[idx].sum() / total)) if total > 0 else (lambda idx: 0.0)
    return {
        "kl": total,
        "w2": math.sqrt(max(float(w.sum()), 0.0)),
        "kl_leading": share(lead),
        "kl_trailing": share(trail),
        "kl_terms": k,
    }
