"""``diffusion-verify schedule``: prints the optimal sigmas and the table, writes a figure,
one line and exit 2 on bad input."""

import json

from verify.app import cli


def test_schedule_prints_json_and_writes_a_figure(tmp_path, capsys):
    fig = tmp_path / "s.png"
    code = cli.main(
        ["schedule", "--data", "power-law", "--steps", "4", "--json", "--figure", str(fig)]
    )
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and fig.stat().st_size > 0
    assert len(out["sigmas"]) == 5 and out["sigmas"][-1] == 0.0
    assert out["kl"] <= min(v["kl"] for v in out["compare"].values())


def test_schedule_bad_input_is_one_line_and_exit_2(capsys):
    for argv in (["--data", "nope"], ["--steps", "0"], ["--sampler", "k-diffusion:sample_lms"]):
        assert cli.main(["schedule", *argv, "--no-figure"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "error" in err
