"""`python -m bench [--quick] [--build] [--baseline REF] [NAME ...]`: run the benchmarks, write BENCHMARKS.md.

With --baseline, each benchmark first runs on commit REF (its own code and dependencies, see
bench/baseline.py), then on this checkout, so "before" and "after" share the machine's mood."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback

from bench.common import ROOT, Context, Result

ORDER = ("fanout", "keyring_status", "responsiveness", "idle", "startup", "quota", "binary", "gateway")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[[], *ORDER], metavar="NAME",
                        help=f"benchmarks to run (default all: {' '.join(ORDER)})")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, shorter windows")
    parser.add_argument("--build", action="store_true", help="build dist/traywidget if it is missing")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--json", help="also write the results as JSON here")
    parser.add_argument("--baseline", metavar="REF", help="also measure commit REF, side by side")
    args = parser.parse_args(argv)
    names = args.names or list(ORDER)
    ctx = Context(quick=args.quick, build_binary=args.build)
    results: list[Result] = []
    before: list[Result] = []
    methods: dict[str, str] = {}
    started = time.monotonic()
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
        methods[name] = module.METHOD
        ctx.log(f"== {name}")
        t0 = time.monotonic()
        try:
            results += module.run(ctx)
        except Exception as exc:  # one broken benchmark must not hide the others
            traceback.print_exc()
            results.append(Result(name, "run", None, "", ok=False, note=f"failed: {type(exc).__name__}: {exc}"))
        ctx.log(f"   ({time.monotonic() - t0:.0f} s)")
    from pathlib import Path

    from bench import report

    before += ctx.before  # figures of the baseline that this checkout's benchmarks measured themselves

    command = "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    report.write(results, methods, command.strip(), time.monotonic() - started, Path(args.out),
                 before=before, baseline=f"{args.baseline} ({baseline.commit})" if baseline else None)
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_json() for r in results], indent=2))
    for r in results:
        mark = {True: "ok  ", False: "MISS", None: "    "}[r.ok]
        print(f"{mark} {r.bench:15} {r.metric:60} {r.value if r.value is not None else r.note} {r.unit} {r.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
