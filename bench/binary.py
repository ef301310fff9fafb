"""Binary: the one-file PyInstaller build's size and cold start to icon shown."""

from __future__ import annotations

import subprocess

from bench.common import ROOT, Context, Result, desktop, have_tray_tools, median, rnd

NAME = "binary"
BIN = ROOT / "dist" / "traywidget"

METHOD = """\
`dist/traywidget` as built by `packaging/build.sh` (one-file PyInstaller; `python -m bench binary
--build` builds it first if missing). Size is the file size. Start to icon shown uses the start-up
benchmark's detector (icon docked in trayer under Xvfb) with `--demo` (no keyring or config needed).
The first start in the run is reported on its own (coldest page cache this run sees; the one-file
binary unpacks itself to a temp dir on every start), then the median of the later starts."""


def run(ctx: Context) -> list[Result]:
    if not BIN.is_file() and ctx.build_binary:
        ctx.log("  building dist/traywidget with packaging/build.sh ...")
        subprocess.run(["bash", str(ROOT / "packaging" / "build.sh")], cwd=ROOT, env={"SKIP_SMOKE": "1",
                       **__import__("os").environ}, check=False, timeout=1800)
    if not BIN.is_file():
        return [Result(NAME, "one-file binary", None, "", note="not built: dist/traywidget is missing "
                       "(run `bash packaging/build.sh`, or `python -m bench binary --build`)")]
    size = BIN.stat().st_size / 2**20
    out = [Result(NAME, "one-file binary size", rnd(size), "MiB")]
    if not have_tray_tools():
        return out + [Result(NAME, "start to icon shown", None, "", note="not run: Xvfb/trayer missing")]
    import os
    import tempfile

    from bench.startup import start_and_idle

    times = []
    with tempfile.TemporaryDirectory(prefix="traywidget-bench-bin-") as tmp:
        env = {**os.environ, "TRAYWIDGET_CONFIG_DIR": f"{tmp}/config", "TRAYWIDGET_CACHE_DIR": f"{tmp}/cache",
               "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
               "TRAYWIDGET_INSTANCE_NAME": f"traywidget-bench-bin-{os.getpid()}"}
        with desktop(env) as denv:
            for _ in range(ctx.reps(5, 2) + 1):
                times.append(start_and_idle([str(BIN), "--demo"], denv, 0)[0])
    ctx.log(f"  binary start to icon: {[round(t, 2) for t in times]}")
    return out + [
        Result(NAME, "first start in this run to icon shown (--demo)", rnd(times[0]), "s"),
        Result(NAME, "later starts to icon shown (--demo)", rnd(median(times[1:])), "s",
               runs=[rnd(t) for t in times[1:]]),
    ]
