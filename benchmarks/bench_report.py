"""Wall time of ``diffusion-verify report`` (the README's main job), measured.

Runs the report as a user does (a subprocess, default options: claims on one worker process
per CPU), and as a peer in the same run the same report with ``--jobs 1`` (one claim after
the other in one process). Torch models come from the cache in ``$DIFFUSION_VERIFY_CACHE``
(warm) unless ``--cold`` (a fresh, empty cache directory: the learned.* claims train their
networks). ``--full`` times ``--budget full`` instead of the quick budget (minutes).

    python benchmarks/bench_report.py            # quick, warm cache; jobs = CPUs and 1
    python benchmarks/bench_report.py --cold     # quick, cold cache as well
    python benchmarks/bench_report.py --full     # the full budget (default jobs only)

Writes ``benchmarks/results/report.json`` (``report_full.json`` with ``--full``): wall times,
the ratio, the claim count, the verdict counts and the slowest claims.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402


def run_report(budget: str, jobs: int | None, cache: str | None = None) -> dict:
    """One ``python -m verify report`` run in a fresh output directory: seconds and results."""
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        out = Path(tmp) / "rep"
        cmd = [
            sys.executable,
            "-m",
            "verify",
            "report",
            "-q",
            "--budget",
            budget,
            "--out",
            str(out),
        ]
        if jobs is not None:
            cmd += ["--jobs", str(jobs)]
        env = dict(os.environ)
        env.pop("DIFFUSION_VERIFY_JOBS", None)
        if cache is not None:
            env["DIFFUSION_VERIFY_CACHE"] = cache
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        claims = json.loads((out / "results.json").read_text())["claims"]
    counts = {v: sum(c["verdict"] == v for c in claims) for v in ("holds", "fails", "inconclusive")}
    slowest = sorted(claims, key=lambda c: -c["seconds"])[:6]
    return {
        "seconds": seconds,
        "claims": len(claims),
        "verdicts": counts,
        "claim_seconds_sum": sum(c["seconds"] for c in claims),
        "slowest": [[c["id"], round(c["seconds"], 2)] for c in slowest],
        "verdict_of": {c["id"]: c["verdict"] for c in claims},  # to compare budgets
    }


def main() -> None:
    full = "--full" in sys.argv
    budget = "full" if full else "quick"
    data = {"budget": budget, "cpus": os.cpu_count()}
    data["default_jobs"] = run_report(budget, None)
    if not full:
        data["jobs_1"] = run_report(budget, 1)
        data["speedup_default_over_jobs1"] = (
            data["jobs_1"]["seconds"] / data["default_jobs"]["seconds"]
        )
    if "--cold" in sys.argv:
        with tempfile.TemporaryDirectory(prefix="bench-report-cache-") as cache:
            data["cold_cache"] = run_report(budget, None, cache=cache)
    path = write_result("report_full" if full else "report", data)
    print(json.dumps(data, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
