"""BENCHMARKS.md is written whole from the results file, and the gateway's p99s are of the added delay
per request (pairs of requests), not differences of p99s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import report
from bench.__main__ import main as bench_main
from bench.common import ROOT, Result, added, p99, paired_differences
from bench.report import Results, Run

MACHINE = {"CPU": "Test CPU, 2 logical cores", "Python": "3.11.7"}


# ------------------------------------------------------------------ the added delay per request


def test_paired_differences_are_taken_pair_by_pair() -> None:
    assert paired_differences([1.5, 2.25, 4.0], [1.0, 2.0, 1.0]) == [0.5, 0.25, 3.0]


def test_unpaired_measurements_are_refused() -> None:
    with pytest.raises(ValueError, match="unpaired measurements: 2 through, 3 direct"):
        paired_differences([1.0, 2.0], [1.0, 2.0, 3.0])


def test_p99_of_the_added_delay_is_not_the_difference_of_p99s() -> None:
    # 100 requests each way; the gateway adds 0.5 to most. Request 0 was slow direct (a hiccup of the
    # machine), request 1 was slow through the gateway: 10.5 added, which is what its p99 must show.
    direct = [11.0] + [1.0] * 99
    through = [1.5, 11.5] + [1.5] * 98
    median, p99_added = added(through, direct)
    assert median == 0.5
    # Exclusive quantiles of 100 values: the 99th percentile sits at 99.99 → between the 99th (0.5)
    # and the 100th (10.5) sorted difference: 0.5 + 0.99 × 10.
    assert p99_added == pytest.approx(0.5 + 0.99 * 10.0, abs=1e-12)
    # What the report used to print: p99(gateway) − p99(direct) = 11.4 − 10.9, hiding the slow request.
    assert p99(through) - p99(direct) == pytest.approx(0.5, abs=1e-12)


def test_p99_of_a_slow_request_through_the_gateway() -> None:
    # 200 pairs: the gateway adds 0.25 to each, and 4.25 to two of them (1 % of requests).
    direct = [2.0] * 200
    through = [2.25] * 198 + [6.25, 6.25]
    median, p99_added = added(through, direct)
    assert median == 0.25
    # Exclusive quantiles of 200 values: the 99th percentile sits at 198.99 → between the 198th (0.25)
    # and the 199th (4.25) sorted difference: 0.25 + 0.99 × 4.0.
    assert p99_added == pytest.approx(0.25 + 0.99 * 4.0, abs=1e-12)


def test_p99_below_100_samples_is_the_largest_and_of_nothing_an_error() -> None:
    assert p99([0.3, 0.1, 0.2]) == 0.3
    with pytest.raises(ValueError, match="p99 of no values"):
        p99([])


# ------------------------------------------------------------------ the report


def _run(benches: list[str], command: str = "python -m bench", baseline: str | None = None,
         started: str = "2026-12-01 10:00 UTC") -> Run:
    return Run(command=command, started=started, elapsed_s=90.0, benches=benches, machine=MACHINE,
               baseline=baseline)


def _fanout(value: float) -> list[Result]:
    return [Result("fanout", "refresh, 1 account", value, "s", runs=[value, value]),
            Result("fanout", "refresh: 100 / 1 accounts", 1.25, "×", "≤ 1.3", True)]


def _quota() -> list[Result]:
    return [Result("quota", "routing.run, quiet", 20, "req/h", "≤ 72", True, note="20 polls/h")]


def test_a_run_without_baseline_makes_one_table_with_no_before_column() -> None:
    data = Results()
    data.add_run(_run(["fanout", "quota"]), _fanout(0.2) + _quota())
    text = report.render(data, {"fanout": "How fan-out is timed.", "quota": "How quota is counted."}, "A note.")
    lines = text.splitlines()
    assert lines[0] == "# Benchmarks"
    assert "never edited by hand" in lines[2]
    assert "- `python -m bench`, 2026-12-01 10:00 UTC, 1.5 min: the rows of fanout, quota." in lines
    assert [line for line in lines if line.startswith("| benchmark")] == [
        "| benchmark | measure | median | target | verdict |"]
    assert "| fanout | refresh, 1 account | 0.2 s |  |  |" in lines
    assert "| fanout | refresh: 100 / 1 accounts | 1.25 × | ≤ 1.3 | met |" in lines
    assert "| quota | routing.run, quiet | 20 req/h | ≤ 72 | met |" in lines
    assert [line for line in lines if line.startswith("## ")] == [
        "## Runs", "## Machine", "## Results", "## Notes", "## Method", "## Raw runs"]
    assert "- CPU: Test CPU, 2 logical cores" in lines
    assert "A note." in lines
    assert lines[lines.index("### fanout"):lines.index("### fanout") + 3] == ["### fanout", "", "How fan-out is timed."]
    assert "- fanout / refresh, 1 account: 0.2, 0.2" in lines
    assert "- quota / routing.run, quiet: 20 polls/h" in lines


def test_a_baseline_puts_before_beside_after_in_the_same_table() -> None:
    data = Results()
    data.add_run(_run(["fanout"], "python -m bench fanout --baseline abc1234", "abc1234 (abc1234)"),
                 _fanout(0.2), [Result("fanout", "refresh, 1 account", 0.3, "s")])
    lines = report.render(data, {}).splitlines()
    assert [line for line in lines if line.startswith("| benchmark")] == [
        "| benchmark | measure | before | after | target | verdict |"]
    assert "| fanout | refresh, 1 account | 0.3 s | 0.2 s |  |  |" in lines
    assert "| fanout | refresh: 100 / 1 accounts | — | 1.25 × | ≤ 1.3 | met |" in lines
    assert ("- `python -m bench fanout --baseline abc1234`, 2026-12-01 10:00 UTC, 1.5 min; "
            "before = abc1234 (abc1234), measured in the same run: the rows of fanout.") in lines
    assert "## Notes" not in lines


def test_a_later_run_of_one_benchmark_replaces_its_rows_in_place_and_says_so() -> None:
    data = Results()
    data.add_run(_run(["fanout", "quota"]), _fanout(0.2) + _quota())
    data.add_run(_run(["fanout"], "python -m bench fanout", started="2026-12-01 11:00 UTC"), _fanout(0.4))
    assert [(r.bench, r.metric, r.value) for r in data.results] == [
        ("fanout", "refresh, 1 account", 0.4), ("fanout", "refresh: 100 / 1 accounts", 1.25),
        ("quota", "routing.run, quiet", 20)]
    assert [(run.command, run.benches) for run in data.runs] == [
        ("python -m bench", ["quota"]), ("python -m bench fanout", ["fanout"])]
    data.add_run(_run(["quota"], "python -m bench quota"), _quota())
    assert [run.command for run in data.runs] == ["python -m bench fanout", "python -m bench quota"]


def test_the_results_file_round_trips(tmp_path: Path) -> None:
    data = Results()
    data.add_run(_run(["fanout"], baseline="abc"), _fanout(0.2), [Result("fanout", "refresh, 1 account", 0.3, "s")])
    data.runs[0].remarks.append("A remark.")
    path = tmp_path / "results.json"
    data.save(path)
    again = Results.load(path)
    assert again.to_json() == data.to_json()
    assert json.loads(path.read_text())["runs"][0]["remarks"] == ["A remark."]


def test_from_json_writes_the_whole_file_from_the_results(tmp_path: Path) -> None:
    data = Results()
    data.add_run(_run(["fanout"]), _fanout(0.2))
    results, out = tmp_path / "results.json", tmp_path / "BENCHMARKS.md"
    data.save(results)
    out.write_text("# a hand edit that must not survive\n")
    assert bench_main(["--from-json", str(results), "--out", str(out)]) == 0
    from bench import fanout

    assert out.read_text() == report.render(data, {"fanout": fanout.METHOD}, report.NOTES.read_text())


def test_the_committed_benchmarks_md_is_what_the_writer_makes_of_the_results() -> None:
    """Nothing in BENCHMARKS.md is written by hand: after changing a benchmark's METHOD or
    bench/notes.md, write it again with `python -m bench --from-json bench/results.json`."""
    from bench.__main__ import methods_of

    data = Results.load(report.RESULTS)
    expected = report.render(data, methods_of(r.bench for r in data.results), report.NOTES.read_text())
    assert (ROOT / "BENCHMARKS.md").read_text() == expected

