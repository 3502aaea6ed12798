"""Benchmark: the conformance kit on real samplers, time per sampler of the conformance table.

For every row of the table (``verify.claims.conformance``: k-diffusion, diffusers, torchsde),
one ``check_sampler`` run at the quick budget with the claims' exact checks (weak-order,
step-law, gamma, output-kl), single process; CPU time (``time.process_time``) beside wall
time, since wall time on a shared machine depends on the load. Also the import time of each
package and the total. Packages that are not installed are skipped (k-diffusion: loaded
through ``tests/kit_fixtures.py`` when torchvision does not load).

Run: ``python benchmarks/bench_conformance.py [--package NAME ...]``; writes
``benchmarks/results/conformance.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from _common import write_result  # noqa: E402

MODULES = {"k-diffusion": "k_diffusion", "diffusers": "diffusers", "torchsde": "torchsde"}


def _load(package):
    if package == "k-diffusion":
        from kit_fixtures import kdiffusion_sampling

        return kdiffusion_sampling()
    return importlib.import_module(MODULES[package])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--package", action="append", choices=list(MODULES))
    args = ap.parse_args(argv)
    from verify.claims.conformance import PACKAGES, real_table_row, table_rows

    out = {"budget": "quick", "packages": {}}
    total_wall = total_cpu = 0.0
    for package in args.package or PACKAGES:
        if importlib.util.find_spec(MODULES[package]) is None:
            print(f"{package}: not installed, skipped")
            continue
        w0, c0 = time.perf_counter(), time.process_time()
        _load(package)
        imp = {"wall": time.perf_counter() - w0, "cpu": time.process_time() - c0}
        rows = []
        for name in table_rows(package, True):
            w0, c0 = time.perf_counter(), time.process_time()
            row = real_table_row({"package": package, "name": name, "quick": True, "seed": 0})
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            rows.append({"sampler": name, "wall_s": wall, "cpu_s": cpu, "method": row["method"]})
            print(f"{package:12s} {name:36s} wall {wall:6.2f} s  cpu {cpu:6.2f} s", flush=True)
        wall = imp["wall"] + sum(r["wall_s"] for r in rows)
        cpu = imp["cpu"] + sum(r["cpu_s"] for r in rows)
        out["packages"][package] = {"import": imp, "rows": rows, "wall_s": wall, "cpu_s": cpu}
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        print(f"{package}: import {imp['wall']:.2f} s, total wall {wall:.1f} s, cpu {cpu:.1f} s")
    out["total_wall_s"], out["total_cpu_s"] = total_wall, total_cpu
    out["load_average"] = os.getloadavg()
    print(f"total: wall {total_wall:.1f} s, cpu {total_cpu:.1f} s (load {os.getloadavg()})")
    print(write_result("conformance", out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
