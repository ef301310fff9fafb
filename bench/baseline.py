"""`python -m bench --baseline REF`: the same benchmarks on an earlier commit, in the same run.

The machine's speed drifts by tens of percent within an hour (see BENCHMARKS.md), so "before" and
"after" are only comparable when measured side by side. The baseline is REF checked out into
build/bench-baseline/tree (a detached git worktree) with a venv of its own, built from REF's own
pyproject (so it has exactly the dependencies REF declared, not today's; editable, as a checkout runs);
each benchmark runs there
(REF's own bench code, its own JSON) right before it runs here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, Result

BASE_DIR = ROOT / "build" / "bench-baseline"


class Baseline:
    def __init__(self, ref: str, log) -> None:
        self.ref = ref
        self.log = log
        self.commit = _git("rev-parse", "--short", ref)
        self.tree = BASE_DIR / "tree"
        self.venv = BASE_DIR / "venv"
        self.python = self.venv / "bin" / "python"

    def prepare(self) -> None:
        """Check REF out and give it its own venv (reused while REF stays the same)."""
        stamp = BASE_DIR / "commit"
        if stamp.exists() and stamp.read_text().strip() == self.commit and self.python.exists():
            return
        self.log(f"   baseline: checking out {self.ref} ({self.commit}) and installing it in its own venv")
        shutil.rmtree(BASE_DIR, ignore_errors=True)
        BASE_DIR.mkdir(parents=True)
        _git("worktree", "prune")
        _git("worktree", "add", "--detach", "--force", str(self.tree), self.commit)
        subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
        subprocess.run([str(self.python), "-m", "pip", "install", "-q", "-e", f"{self.tree}[bench]"], check=True)
        stamp.write_text(self.commit)

    def names(self) -> set[str]:
        """The benchmarks REF's bench knows."""
        out = subprocess.run([str(self.python), "-c", "from bench.__main__ import ORDER; print(' '.join(ORDER))"],
                             cwd=self.tree, capture_output=True, text=True, check=True)
        return set(out.stdout.split())

    def run(self, name: str, quick: bool) -> list[Result]:
        """One benchmark of REF's, as REF measures it."""
        with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
            out_json = Path(tmp) / "results.json"
            args = [str(self.python), "-m", "bench", name, "--json", str(out_json), "--out", str(Path(tmp) / "md")]
            if quick:
                args.append("--quick")
            done = subprocess.run(args, cwd=self.tree, env=_env(self.tree), capture_output=True, text=True)
            if done.returncode != 0 or not out_json.exists():
                return [Result(name, "run", None, "", ok=False, note=f"baseline failed: {done.stderr[-500:]}")]
            data = json.loads(out_json.read_text())
            # An older bench wrote a list of results; since bench/report.Results, a document with "results".
            items = data["results"] if isinstance(data, dict) else data
            return [Result(**_fields(item)) for item in items]


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    known = {"bench", "metric", "value", "unit", "target", "ok", "runs", "note"}
    return {k: v for k, v in item.items() if k in known}


def _env(tree: Path) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PYTHONPATH"] = str(tree)
    return env


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
