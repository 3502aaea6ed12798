"""Numerics, claims and interfaces of diffusion-verify.

The layout follows the data flow (docs/theory.md, "The exactness ladder"):

* ``verify.solvers``: time grids, Brownian paths, one record per sampler method, the reverse
  family, particle samplers, exact chain laws, the Fokker-Planck grid, convergence orders;
* ``verify.errors``, ``verify.estimators``: score/prior error models; divergence estimators;
* ``verify.theory``: paper-specific quantities (KL dynamics, start laws, common-noise SPDEs);
* ``verify.claims``: the claims (compute / decide / present) and their registry;
* ``verify.kit``: what users call on their own code (conformance, pytest plugin, strategies);
* ``verify.torch``: the optional learned-score backend;
* ``verify.runtime``: sweeps (local, process pool, Dask) and progress bars;
* ``verify.app``: the command line and the report writer.

Importing ``verify`` is light: submodules (and optional dependencies such as torch,
matplotlib and dask) load on first use. The modules of the flat layout of version 0.1
(``verify.samplers``, ``verify.exact``, ...) still import, with a ``DeprecationWarning``
naming their new home; they go away in the next release.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

__all__ = ["__version__", "grids", "reverse_sample", "exact_law"]


def _package_version() -> str:
    """The installed distribution's version (package metadata); the source tree's
    ``pyproject.toml`` version when the package is not installed (run from a checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("diffusion-verify")
    except PackageNotFoundError:
        pass
    from pathlib import Path

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    try:
        import tomllib

        return tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
    except (OSError, ValueError, KeyError):
        return "0+unknown"


__version__: str = _package_version()
"""The version of diffusion-verify (from the package metadata)."""

_LAZY = {
    "grids": ("verify.solvers.grids", None),
    "reverse_sample": ("verify.solvers.particles", "reverse_sample"),
    "exact_law": ("verify.solvers.chain_laws", "exact_law"),
}

MOVED = {
    "verify.grids": "verify.solvers.grids",
    "verify.brownian": "verify.solvers.brownian",
    "verify.samplers": "verify.solvers.particles",
    "verify.exact": "verify.solvers.chain_laws",
    "verify.order": "verify.solvers.orders",
    "verify.fokker_planck": "verify.solvers.fokker_planck",
    "verify.stochasticity": "verify.theory.kl_dynamics",
    "verify.initialization": "verify.theory.start_laws",
    "verify.spde": "verify.theory.common_noise",
    "verify.conformance": "verify.kit.conformance",
    "verify.conformance_refs": "verify.kit.references",
    "verify.conventions": "verify.kit.conventions",
    "verify.pytest_plugin": "verify.kit.pytest_plugin",
    "verify.strategies": "verify.kit.strategies",
    "verify.sweep": "verify.runtime.sweep",
    "verify.progress": "verify.runtime.progress",
    "verify.cli": "verify.app.cli",
    "verify.report": "verify.app.report",
}
"""Old module path -> new home (deprecated aliases, kept for one release)."""


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports an old module path as its new module, with a ``DeprecationWarning``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        new = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} moved to {new}; the old path goes away in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(new)

    def exec_module(self, module):  # the new module is already executed
        pass


if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _MovedModuleFinder())


def __getattr__(name):
    if name in _LAZY:
        mod, attr = _LAZY[name]
        module = importlib.import_module(mod)
        return module if attr is None else getattr(module, attr)
    old = f"verify.{name}"
    if old in MOVED:
        return importlib.import_module(old)
    try:
        return importlib.import_module(old)
    except ModuleNotFoundError as exc:
        if exc.name == old:
            raise AttributeError(f"module 'verify' has no attribute {name!r}") from None
        raise
