"""The public API is typed: every public function and method of ``analytic``,
``verify.solvers``, ``verify.tightness`` and the kit's user-facing modules
(``verify.kit.conformance``, ``references``, ``conventions``, ``spectral``, ``strategies``,
``pytest_plugin``) annotates each parameter and its return value
(issue 24, "Hygiene"), and the packages ship ``py.typed`` (PEP 561).

Public means: a module-level function or class listed in the module's ``__all__`` (or not
starting with ``_`` when the module has none), in a module whose name does not start with
``_``; methods of public classes not starting with ``_`` (``__init__`` included).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("analytic", "verify/solvers", "verify/tightness")
# the kit's user-facing modules (its guard, checks and adapters are internal)
KIT_MODULES = (
    "conformance",
    "references",
    "conventions",
    "spectral",
    "strategies",
    "pytest_plugin",
)


def _public_functions(path: Path):
    tree = ast.parse(path.read_text())
    names = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == "__all__" for t in node.targets
        ):
            names = set(ast.literal_eval(node.value))

    def public(name: str) -> bool:
        return (names is None and not name.startswith("_")) or (names is not None and name in names)

    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and public(node.name):
            yield node.name, node
        elif isinstance(node, ast.ClassDef) and public(node.name):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef) and (
                    not sub.name.startswith("_") or sub.name == "__init__"
                ):
                    yield f"{node.name}.{sub.name}", sub


def _missing(fn: ast.FunctionDef) -> list[str]:
    a = fn.args
    out = [
        p.arg
        for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)
        if p.annotation is None and p.arg not in ("self", "cls")
    ]
    out += [f"*{v.arg}" for v in (a.vararg, a.kwarg) if v is not None and v.annotation is None]
    if fn.returns is None:
        out.append("return")
    return out


def _modules():
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).glob("*.py")):
            if not path.name.startswith("_") or path.name == "__init__.py":
                yield path
    for name in KIT_MODULES:
        yield ROOT / "verify" / "kit" / f"{name}.py"


@pytest.mark.parametrize("path", list(_modules()), ids=lambda p: str(p.relative_to(ROOT)))
def test_public_functions_are_annotated(path):
    gaps = {name: miss for name, fn in _public_functions(path) if (miss := _missing(fn))}
    assert not gaps, f"{path.relative_to(ROOT)}: unannotated {gaps}"


def test_checker_sees_a_gap(tmp_path):
    """The check is not vacuous: an unannotated parameter or return is reported."""
    p = tmp_path / "m.py"
    p.write_text(
        "__all__ = ['f', 'C']\n"
        "def f(x, y: int): return x\n"
        "class C:\n    def m(self, z) -> int: return 0\n    def _h(self, w): pass\n"
        "def g(q): pass\n"
    )
    found = {name: _missing(fn) for name, fn in _public_functions(p)}
    assert found == {"f": ["x", "return"], "C.m": ["z"]}


@pytest.mark.parametrize("package", ["analytic", "verify"])
def test_py_typed_is_shipped(package):
    assert (ROOT / package / "py.typed").is_file()
    text = (ROOT / "pyproject.toml").read_text()
    assert "py.typed" in text
