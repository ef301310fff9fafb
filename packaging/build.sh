#!/usr/bin/env bash
# Build the packaged traywidget with PyInstaller in a clean venv, then smoke-test it.
#
#   packaging/build.sh                 one-file binary dist/traywidget
#   TRAYWIDGET_ONEDIR=1 packaging/build.sh   one-dir build dist/traywidget/traywidget
#   BUILD_VENV=/path  PYTHON=python3.11      where to make the build venv / which Python
#   SKIP_SMOKE=1                             build only
#   REUSE_VENV=1                             keep an existing build venv (faster iteration)
#
# The build venv holds PySide6-Essentials as its only Qt binding, traywidget (installed from this
# checkout, not editable) and PyInstaller; nothing from the developer's venv leaks in.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
BUILD_VENV="${BUILD_VENV:-$ROOT/build/venv}"
ONEDIR="${TRAYWIDGET_ONEDIR:-}"
log() { printf '\n== %s\n' "$*"; }

start=$(date +%s)

if [[ -z "${REUSE_VENV:-}" || ! -x "$BUILD_VENV/bin/python" ]]; then
  log "clean build venv: $BUILD_VENV"
  rm -rf "$BUILD_VENV"
  "$PYTHON" -m venv "$BUILD_VENV"
fi
VPY="$BUILD_VENV/bin/python"
"$VPY" -m pip install -q --upgrade pip
# The app (regular install, so traywidget.resources lands in site-packages) with its runtime deps,
# plus PyInstaller. Nothing else: no pytest, no keyrings.alt, no second Qt binding.
"$VPY" -m pip install -q "$ROOT" "pyinstaller>=6.5"
for bad in PyQt5 PyQt6 PySide2 keyrings.alt; do
  if "$VPY" -m pip show -q "$bad" >/dev/null 2>&1; then
    echo "build venv must not contain $bad" >&2; exit 1
  fi
done
"$VPY" -m pip list --format=freeze > "$ROOT/build/build-venv-freeze.txt"

log "pyinstaller ($([[ -n "$ONEDIR" ]] && echo one-dir || echo one-file))"
rm -rf "$ROOT/build/pyinstaller" "$ROOT/dist/traywidget"
t0=$(date +%s)
# Run from outside the checkout so `import traywidget` resolves to the installed copy in the venv.
(cd "$ROOT/build" && TRAYWIDGET_ONEDIR="$ONEDIR" "$VPY" -m PyInstaller --noconfirm --clean \
  --workpath "$ROOT/build/pyinstaller" --distpath "$ROOT/dist" "$ROOT/packaging/traywidget.spec")
t1=$(date +%s)

if [[ -n "$ONEDIR" ]]; then BIN="$ROOT/dist/traywidget/traywidget"; else BIN="$ROOT/dist/traywidget"; fi
[[ -x "$BIN" ]] || { echo "no binary at $BIN" >&2; exit 1; }

if [[ -n "$ONEDIR" ]]; then
  size_bytes=$(du -sb "$ROOT/dist/traywidget" | cut -f1)
else
  size_bytes=$(stat -c %s "$BIN")
fi
size_mb=$(awk -v b="$size_bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
log "built $BIN: ${size_mb} MiB ($size_bytes bytes) in $((t1 - t0)) s (pyinstaller), $((t1 - start)) s total"

if [[ -n "${SKIP_SMOKE:-}" ]]; then exit 0; fi
PY="$VPY" bash "$ROOT/packaging/smoke.sh" "$BIN"
echo
echo "size: ${size_mb} MiB  pyinstaller: $((t1 - t0)) s  total: $(( $(date +%s) - start )) s"
