"""`python -m bench [--quick] [--build] [--baseline REF] [NAME ...]`: run the benchmarks, write BENCHMARKS.md.

Each run is recorded in bench/results.json (a run of some benchmarks replaces only their rows), and
BENCHMARKS.md is written whole from it (bench/report.py). `--from-json FILE` writes BENCHMARKS.md
again from a results file without measuring anything.

With --baseline, each benchmark first runs on commit REF (its own code and dependencies, see
bench/baseline.py), then on this checkout, so "before" and "after" share the machine's mood."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import sys
import time
import traceback
from pathlib import Path

from bench import report
from bench.common import ROOT, Context, Result, machine

ORDER = ("fanout", "keyring_status", "responsiveness", "idle", "startup", "quota", "binary", "gateway")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[[], *ORDER], metavar="NAME",
                        help=f"benchmarks to run (default all: {' '.join(ORDER)})")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, shorter windows")
    parser.add_argument("--build", action="store_true", help="build dist/traywidget if it is missing")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--json", default=str(report.RESULTS),
                        help="the results file this run is recorded in (default: bench/results.json)")
    parser.add_argument("--from-json", metavar="FILE",
                        help="measure nothing: write BENCHMARKS.md again from this results file")
    parser.add_argument("--baseline", metavar="REF", help="also measure commit REF, side by side")
    args = parser.parse_args(argv)
    if args.from_json:
        data = report.Results.load(Path(args.from_json))
        report.write(data, methods_of(r.bench for r in data.results), Path(args.out))
        return 0
    names = args.names or list(ORDER)
    ctx = Context(quick=args.quick, build_binary=args.build)
    results: list[Result] = []
    before: list[Result] = []
    started, started_at = time.monotonic(), dt.datetime.now(dt.UTC)
    baseline = None
    if args.baseline:
        from bench.baseline import Baseline

        baseline = Baseline(args.baseline, ctx.log)
        baseline.prepare()
        baseline_names = baseline.names()
        ctx.baseline = (baseline.tree, baseline.python)
    for name in names:
        if baseline is not None and name in baseline_names:
            ctx.log(f"== {name} (baseline {baseline.commit})")
            before += baseline.run(name, args.quick)
        module = importlib.import_module(f"bench.{name}")
        ctx.log(f"== {name}")
        t0 = time.monotonic()
        try:
            results += module.run(ctx)
        except Exception as exc:  # one broken benchmark must not hide the others
            traceback.print_exc()
            results.append(Result(name, "run", None, "", ok=False, note=f"failed: {type(exc).__name__}: {exc}"))
        ctx.log(f"   ({time.monotonic() - t0:.0f} s)")
    before += ctx.before  # figures of the baseline that this checkout's benchmarks measured themselves

    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    run = report.Run(command=command.strip(), started=f"{started_at:%Y-%m-%d %H:%M} UTC",
                     elapsed_s=round(time.monotonic() - started, 1), benches=list(dict.fromkeys(names)),
                     machine=machine(), baseline=f"{args.baseline} ({baseline.commit})" if baseline else None)
    data = report.Results() if not args.names else report.Results.load(Path(args.json))  # all: a fresh report
    data.add_run(run, results, before)
    data.save(Path(args.json))
    report.write(data, methods_of(r.bench for r in data.results), Path(args.out))
    for r in results:
        mark = {True: "ok  ", False: "MISS", None: "    "}[r.ok]
        print(f"{mark} {r.bench:15} {r.metric:60} {r.value if r.value is not None else r.note} {r.unit} {r.target}")
    return 0


def methods_of(benches) -> dict[str, str]:
    """Each benchmark's METHOD, as its module says it today."""
    return {name: importlib.import_module(f"bench.{name}").METHOD for name in dict.fromkeys(benches)}


if __name__ == "__main__":
    sys.exit(main())
