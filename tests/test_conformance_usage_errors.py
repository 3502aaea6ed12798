"""A sampler that cannot be loaded, or a wrong --convention, is one line and exit 2."""

from __future__ import annotations

import pytest

from verify.app.cli import main


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["conformance", "mod:fn", "--convention", "ours"], "cannot load 'mod:fn'"),
        (
            ["conformance", "verify.solvers.particles:reverse_sample", "--convention", "nope"],
            "--convention",
        ),
    ],
)
def test_usage_error_is_one_line_and_exit_2(argv, needle, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    out = capsys.readouterr()
    assert code == 2
    lines = [s for s in (out.err + out.out).splitlines() if s.strip()]
    assert len(lines) == 1 and needle in lines[0], lines
    assert "Traceback" not in out.err
