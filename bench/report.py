"""BENCHMARKS.md, written whole from the results file (bench/results.json).

`python -m bench` records each run in the results file, then writes BENCHMARKS.md from it: the runs
(command, when, how long), the machine, one results table (with a "before" column only where a run
measured a baseline side by side), the notes kept in bench/notes.md, each benchmark's method and the
raw runs. Nothing in BENCHMARKS.md is edited by hand: change the benchmarks or bench/notes.md and
write it again (`python -m bench --from-json bench/results.json` re-renders without measuring).

A run of some benchmarks (`python -m bench idle`) replaces those benchmarks' rows and keeps the
others, and the report says which run each benchmark's rows come from.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.common import ROOT, Result

PATH = ROOT / "BENCHMARKS.md"
RESULTS = ROOT / "bench" / "results.json"
NOTES = ROOT / "bench" / "notes.md"
REPRODUCE = (
    "Reproduce: `python -m bench` from the repository root (`--quick` for fewer repetitions, or name "
    "benchmarks: `python -m bench fanout idle`). Needs the `bench` extra (psutil) and, for start-up and "
    "binary, Xvfb, trayer and xwininfo."
)


@dataclass
class Run:
    """One `python -m bench` whose figures are (partly) in the report."""

    command: str
    started: str  # "2026-11-30 17:03 UTC"
    elapsed_s: float | None  # None: not recorded
    benches: list[str]  # the benchmarks whose rows this run measured
    machine: dict[str, str]
    baseline: str | None = None  # "REF (commit)": measured side by side in this run
    remarks: list[str] = field(default_factory=list)  # what a reader must know about this run's rows


@dataclass
class Results:
    runs: list[Run] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    before: list[Result] = field(default_factory=list)

    def add_run(self, run: Run, results: Sequence[Result], before: Sequence[Result] = ()) -> None:
        """Take in a run: its benchmarks' rows replace earlier ones; a run left with none is dropped."""
        fresh = set(run.benches)
        for earlier in self.runs:
            earlier.benches = [b for b in earlier.benches if b not in fresh]
        self.runs = [r for r in self.runs if r.benches] + [run]
        self.results = _in_place(self.results, results, fresh)
        self.before = _in_place(self.before, before, fresh)

    def to_json(self) -> dict[str, Any]:
        return {"runs": [asdict(r) for r in self.runs], "results": [r.to_json() for r in self.results],
                "before": [r.to_json() for r in self.before]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Results:
        return cls(runs=[Run(**r) for r in data["runs"]], results=[Result(**r) for r in data["results"]],
                   before=[Result(**r) for r in data.get("before", [])])

    @classmethod
    def load(cls, path: Path = RESULTS) -> Results:
        return cls.from_json(json.loads(path.read_text())) if path.exists() else cls()

    def save(self, path: Path = RESULTS) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n")


def _in_place(old: Sequence[Result], new: Sequence[Result], fresh: set[str]) -> list[Result]:
    """`old` with the rows of the `fresh` benchmarks replaced by `new`'s, each benchmark where it was."""
    order = list(dict.fromkeys([r.bench for r in old] + [r.bench for r in new]))
    rows = [r for r in old if r.bench not in fresh] + list(new)
    return sorted(rows, key=lambda r: order.index(r.bench))  # stable: a benchmark's rows keep their order


def fmt(value: object) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def figure(r: Result | None) -> str:
    if r is None:
        return "—"
    return f"{fmt(r.value)} {r.unit}".strip() if r.value is not None else (r.note or "—")


VERDICT = {True: "met", False: "**missed**", None: ""}


def render(data: Results, methods: Mapping[str, str], notes: str = "") -> str:
    """The whole of BENCHMARKS.md."""
    lines = ["# Benchmarks", "",
             "Written whole by `python -m bench` from `bench/results.json`, with the notes of `bench/notes.md`; "
             "never edited by hand. " + REPRODUCE, ""]
    lines += _runs(data.runs)
    lines += _machine(data.runs)
    lines += _table(data)
    if notes.strip():
        lines += ["## Notes", "", notes.strip(), ""]
    lines += ["## Method", ""]
    for name in _bench_order(data.results):
        if name in methods:
            lines += [f"### {name}", "", methods[name].strip(), ""]
    lines += ["## Raw runs", ""]
    for r in data.results:
        # The note of a row without a figure is in the table already; a figure's note is told here.
        told = [", ".join(map(fmt, r.runs)), r.note if r.value is not None else ""]
        if any(told):
            lines.append(f"- {r.bench} / {r.metric}: " + " — ".join(part for part in told if part))
    return "\n".join(lines).rstrip() + "\n"


def _runs(runs: Sequence[Run]) -> list[str]:
    lines = ["## Runs", ""]
    for run in runs:
        side = f"; before = {run.baseline}, measured in the same run" if run.baseline else ""
        took = f", {run.elapsed_s / 60:.1f} min" if run.elapsed_s is not None else ""
        lines.append(f"- `{run.command}`, {run.started}{took}{side}: "
                     f"the rows of {', '.join(run.benches)}.")
        lines += [f"  {remark}" for remark in run.remarks]
    return lines + [""]


def _machine(runs: Sequence[Run]) -> list[str]:
    lines = ["## Machine", ""]
    machines = {json.dumps(r.machine, sort_keys=True) for r in runs}
    if len(machines) <= 1:
        for key, value in (runs[-1].machine if runs else {}).items():
            lines.append(f"- {key}: {value}")
    else:  # runs on different machines: each says its own
        for run in runs:
            lines.append(f"- {run.started}: " + "; ".join(f"{k} {v}" for k, v in run.machine.items()))
    return lines + [""]


def _table(data: Results) -> list[str]:
    before = {(r.bench, r.metric): r for r in data.before}
    with_before = any(run.baseline for run in data.runs)
    baseline_benches = {b for run in data.runs if run.baseline for b in run.benches}
    lines = ["## Results", "", "Figures are medians of the runs listed under Raw runs"
             + ("; \"before\" is the baseline of the same run." if with_before else "."), ""]
    if with_before:
        lines += ["| benchmark | measure | before | after | target | verdict |", "|---|---|---|---|---|---|"]
    else:
        lines += ["| benchmark | measure | median | target | verdict |", "|---|---|---|---|---|"]
    for r in data.results:
        cells = [r.bench, r.metric]
        if with_before:
            cells.append(figure(before.get((r.bench, r.metric))) if r.bench in baseline_benches else "")
        cells += [figure(r), r.target, VERDICT[r.ok]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def _bench_order(results: Iterable[Result]) -> list[str]:
    return list(dict.fromkeys(r.bench for r in results))


def write(data: Results, methods: Mapping[str, str], path: Path = PATH, notes_path: Path = NOTES) -> None:
    notes = notes_path.read_text() if notes_path.exists() else ""
    path.write_text(render(data, methods, notes))
