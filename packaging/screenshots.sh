#!/usr/bin/env bash
# Screenshots of the real tray on a private X server, written to OUTDIR (default shots/, git-ignored):
#   tray.png   the docked badge in trayer's panel, enlarged SCALE x (4)
#   badge.png  the icon alone, enlarged 2*SCALE x
#   menu.png   the right-click menu (cropped to the menu and the tray)
#   panel.png  the usage panel opened by a left click (cropped to the panel)
#   panel-*.png, settings-locked-keyring.png: see the panel's block at the end
#
#   bash packaging/screenshots.sh [OUTDIR]            # the checkout's app: $PYTHON -m traywidget --demo
#   APP="dist/traywidget" bash packaging/screenshots.sh   # or a packaged binary
#   SCALE=4 TRAY_HEIGHT=32 SCREEN=1024x768x24 bash packaging/screenshots.sh shots
#
# Needs Xvfb, trayer, xdotool, xwininfo (x11-utils), ImageMagick (import, convert) and dbus-daemon. The
# app runs in demo mode on a private X display and a private D-Bus session (so a StatusNotifierWatcher
# on the host's bus cannot pull the icon out of trayer), with throwaway config, cache, keyring backend
# and single-instance name: it never meets a user's real files or running copy. Every process is
# bounded by `timeout` and ended by its PID.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-${OUT:-$ROOT/shots}}"
SCALE="${SCALE:-4}"
TRAY_HEIGHT="${TRAY_HEIGHT:-32}"
SCREEN="${SCREEN:-1024x768x24}"
LIMIT="${LIMIT:-120}"  # seconds any helper process may live
if [[ -n "${APP:-}" ]]; then
  read -r -a APP_CMD <<<"$APP"
else
  PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
  [[ -x "$PYTHON" ]] || PYTHON="$(command -v python3)"
  APP_CMD=("$PYTHON" -m traywidget)
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
fi

missing=()
for tool in Xvfb trayer xdotool xwininfo import convert dbus-daemon; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "screenshots.sh needs: ${missing[*]} (apt-get install xvfb trayer xdotool x11-utils imagemagick dbus)" >&2
  exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/traywidget-shots.XXXXXX")"
PIDS=()
cleanup() {
  local pid i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do  # app first, X server and bus last
    pid="${PIDS[$i]}"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '%s\n' "$*"; }
fail() {
  echo "screenshots.sh: $*" >&2
  [[ -s "$WORK/app.log" ]] && { echo "--- app log:" >&2; tail -n 40 "$WORK/app.log" >&2; }
  exit 1
}

# --- a private session bus ---------------------------------------------------------------------
export HOME="$WORK/home" XDG_RUNTIME_DIR="$WORK/run"
mkdir -p "$HOME" "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
timeout "$LIMIT" dbus-daemon --session --nofork --print-address=1 >"$WORK/bus" 2>/dev/null &
PIDS+=($!)
for _ in $(seq 100); do [[ -s "$WORK/bus" ]] && break; sleep 0.05; done
[[ -s "$WORK/bus" ]] || fail "dbus-daemon did not start"
DBUS_SESSION_BUS_ADDRESS="$(head -n 1 "$WORK/bus")"
export DBUS_SESSION_BUS_ADDRESS

# --- a private display with a tray host --------------------------------------------------------
# Xvfb picks a free display number itself (-displayfd): no race with other X servers starting now.
timeout "$LIMIT" Xvfb -displayfd 3 -screen 0 "$SCREEN" -nolisten tcp 3>"$WORK/display" >"$WORK/xvfb.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do [[ -s "$WORK/display" ]] && break; sleep 0.05; done  # Xvfb writes "N\n" when ready
n="$(tr -dc 0-9 <"$WORK/display")"
[[ -n "$n" ]] || fail "Xvfb did not start: $(cat "$WORK/xvfb.log")"
export DISPLAY=":$n"
unset WAYLAND_DISPLAY QT_QPA_PLATFORM || true
# a desktop-ish background instead of black, when xsetroot (x11-xserver-utils) is there
if command -v xsetroot >/dev/null; then xsetroot -solid '#3b4252' || true; fi

timeout "$LIMIT" trayer --edge top --align right --widthtype request --height "$TRAY_HEIGHT" \
  --transparent false --SetDockType true >"$WORK/trayer.log" 2>&1 &
PIDS+=($!)
# The app must start after the tray exists: one started before finds no tray and never docks.
for _ in $(seq 200); do xwininfo -root -tree 2>/dev/null | grep -q '"panel" "trayer"' && break; sleep 0.05; done
xwininfo -root -tree 2>/dev/null | grep -q '"panel" "trayer"' || fail "trayer did not start: $(cat "$WORK/trayer.log")"
sleep 0.2

# --- the app --------------------------------------------------------------------------------------
export TRAYWIDGET_CONFIG_DIR="$WORK/config" TRAYWIDGET_CACHE_DIR="$WORK/cache"
export TRAYWIDGET_INSTANCE_NAME="traywidget-shots-$$"
export PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring
timeout "$LIMIT" "${APP_CMD[@]}" --demo >"$WORK/app.log" 2>&1 &
APP_PID=$!
PIDS+=($APP_PID)

# xwininfo -root -tree lines look like:  0x400007 "Traywidget": ("traywidget" "Traywidget")  22x30+0+0  +777+1
# Prints "x y w h" (absolute) of the first window whose line matches the awk pattern $1.
window_geometry() {
  xwininfo -root -tree 2>/dev/null | awk -v pat="$1" '
    $0 ~ pat {
      for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+x[0-9]+[+-]/) { split($i, g, /[x+]/); abs = $(i + 1) }
      if (g[1] > 1 && g[2] > 1) { sub(/^\+/, "", abs); split(abs, a, "+"); print a[1], a[2], g[1], g[2]; exit }
    }'
}
# The docked icon: a window of class "traywidget" inside trayer's "panel" window.
icon_geometry() {
  xwininfo -root -tree 2>/dev/null | awk '
    /"panel": \("panel" "trayer"\)/ { inpanel = 1; next }
    inpanel && /"[Tt]raywidget"\)/ {
      for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+x[0-9]+[+-]/) { split($i, g, /[x+]/); w = g[1]; h = g[2]; abs = $(i + 1) }
      if (w > 1 && h > 1) { sub(/^\+/, "", abs); split(abs, a, "+"); print a[1], a[2], w, h; exit }
    }'
}
geom=""
for _ in $(seq 300); do  # up to 30 s
  kill -0 "$APP_PID" 2>/dev/null || fail "the app exited before docking"
  geom="$(icon_geometry)"
  [[ -n "$geom" ]] && break
  sleep 0.1
done
[[ -n "$geom" ]] || { xwininfo -root -tree >&2; fail "no docked icon after 30 s"; }
read -r IX IY IW IH <<<"$geom"
read -r PX PY PW PH <<<"$(window_geometry '"panel": \\("panel" "trayer"\\)')"
CX=$((IX + IW / 2)); CY=$((IY + IH / 2))
log "docked icon ${IW}x${IH} at +${IX}+${IY} (trayer panel ${PW}x${PH} at +${PX}+${PY})"
sleep 2  # the demo's first poll reaches the badge (it polls at once; the simulator answers in ms)

mkdir -p "$OUT"
shot() { import -window root "$WORK/$1.png"; }
# crop_to NAME X Y W H [resize%]: crop the root shot to a rectangle clamped to the screen
crop_to() {
  local name="$1" x0="$2" y0="$3" w="$4" h="$5" resize="${6:-100}" sw sh
  read -r sw sh <<<"$(identify -format '%w %h' "$WORK/$name.png")"
  ((x0 < 0)) && { w=$((w + x0)); x0=0; }
  ((y0 < 0)) && { h=$((h + y0)); y0=0; }
  ((x0 + w > sw)) && w=$((sw - x0))
  ((y0 + h > sh)) && h=$((sh - y0))
  convert "$WORK/$name.png" -crop "${w}x${h}+${x0}+${y0}" +repage -filter point -resize "${resize}%" "$OUT/$name.png"
}
# a new mapped window of class traywidget that was not there before ($1: ids before), as "x y w h"
new_window() {
  local before="$1" id line
  while read -r line; do
    id="${line%% *}"
    grep -qx "$id" <<<"$before" && continue
    xwininfo -id "$id" 2>/dev/null | grep -q "Map State: IsViewable" || continue
    window_geometry "^ *$id "
    return 0
  done < <(xwininfo -root -tree 2>/dev/null | grep -i '"traywidget")' | sed 's/^ *//')
  return 1
}
window_ids() { xwininfo -root -tree 2>/dev/null | grep -o '^ *0x[0-9a-f]*' | tr -d ' '; }

# 1. the badge: the tray panel with a margin, enlarged; and the icon alone
shot tray
M=8
crop_to tray $((PX - 2 * M)) 0 $((PW + 3 * M)) $((PH + M)) $((SCALE * 100))
cp "$WORK/tray.png" "$WORK/badge.png"
crop_to badge "$IX" "$IY" "$IW" "$IH" $((SCALE * 200))
log "wrote $OUT/tray.png and $OUT/badge.png"

# 2. right click: the context menu
before="$(window_ids)"
xdotool mousemove "$CX" "$CY"
sleep 0.2
xdotool click 3
menu=""
for _ in $(seq 30); do menu="$(new_window "$before" || true)"; [[ -n "$menu" ]] && break; sleep 0.1; done
[[ -n "$menu" ]] || fail "the context menu did not open"
read -r MX MY MW MH <<<"$menu"
sleep 0.5
shot menu
# the menu and the tray it came from
X0=$((MX < PX ? MX : PX)); X1=$(((MX + MW) > (PX + PW) ? (MX + MW) : (PX + PW)))
crop_to menu $((X0 - 8)) 0 $((X1 - X0 + 16)) $((MY + MH + 8))
log "wrote $OUT/menu.png (menu ${MW}x${MH} at +${MX}+${MY})"
xdotool key Escape
sleep 0.5

# 3. left click: the panel
before="$(window_ids)"
xdotool mousemove "$CX" "$CY"
sleep 0.2
xdotool click 1
panel=""
for _ in $(seq 50); do panel="$(new_window "$before" || true)"; [[ -n "$panel" ]] && break; sleep 0.1; done
[[ -n "$panel" ]] || fail "the panel did not open"
read -r QX QY QW QH <<<"$panel"
sleep 1
shot panel
crop_to panel $((QX - 8)) $((QY - 8)) $((QW + 16)) $((QH + 16))
log "wrote $OUT/panel.png (panel ${QW}x${QH} at +${QX}+${QY})"

kill -0 "$APP_PID" 2>/dev/null || fail "the app died during the shots"

# =================================================================================================
# Panel, first run and settings shots (the panel's block: ui/panel.py, ui/settings.py,
# ui/account_editor.py). One app at a time on the same private display and bus, each ended by its PID:
#   panel-dark.png               the demo's panel in a dark desktop theme (Qt's gtk3 theme, Adwaita:dark)
#   panel-first-run.png          a fresh start with no account: the panel opens by itself on its welcome
#   panel-small-2x.png           the demo's panel on its own 1280x720 screen at QT_SCALE_FACTOR=2
#   panel-long-label.png         five cards, 60-character labels, on the narrowest panel: light | dark
#   settings-locked-keyring.png  Settings opened on a locked keyring whose unlock prompt was dismissed
# The last two render real widgets from the checkout's Python (not with APP=binary).
# =================================================================================================
panel_stop() {
  local pid="$1"
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
# panel_app NAME [VAR=VALUE ...] -- [APP ARGS]: start the app with its own config and instance name; its
# PID in PANEL_PID, its docked icon's centre in PANEL_CX PANEL_CY.
panel_app() {
  local name="$1" vars=() geom=""
  shift
  while [[ $# -gt 0 && "$1" != "--" ]]; do vars+=("$1"); shift; done
  shift
  mkdir -p "$WORK/$name"
  env "${vars[@]}" TRAYWIDGET_CONFIG_DIR="$WORK/$name/config" TRAYWIDGET_CACHE_DIR="$WORK/$name/cache" \
    TRAYWIDGET_INSTANCE_NAME="traywidget-shots-$name-$$" \
    timeout "$LIMIT" "${APP_CMD[@]}" "$@" >"$WORK/$name.log" 2>&1 &
  PANEL_PID=$!
  PIDS+=($PANEL_PID)
  for _ in $(seq 300); do
    kill -0 "$PANEL_PID" 2>/dev/null || { cat "$WORK/$name.log" >&2; fail "$name: the app exited before docking"; }
    geom="$(icon_geometry)"
    [[ -n "$geom" ]] && break
    sleep 0.1
  done
  [[ -n "$geom" ]] || fail "$name: no docked icon after 30 s"
  read -r IX IY IW IH <<<"$geom"
  PANEL_CX=$((IX + IW / 2)); PANEL_CY=$((IY + IH / 2))
}
# The usage panel's window ("Usage — Traywidget") as "x y w h", once it is mapped.
panel_window() {
  local line id
  line="$(xwininfo -root -tree 2>/dev/null | grep '"Usage' | head -n 1)" || return 1
  id="$(awk '{print $1}' <<<"$line")"
  [[ -n "$id" ]] && xwininfo -id "$id" 2>/dev/null | grep -q "Map State: IsViewable" || return 1
  window_geometry "^ *$id "
}
# panel_shot NAME [click]: (click the icon, then) wait for the panel and save it, cropped with a margin.
panel_shot() {
  local name="$1" geom=""
  if [[ "${2:-}" == click ]]; then
    xdotool mousemove "$PANEL_CX" "$PANEL_CY"
    sleep 0.2
    xdotool click 1
  fi
  for _ in $(seq 100); do geom="$(panel_window || true)"; [[ -n "$geom" ]] && break; sleep 0.1; done
  [[ -n "$geom" ]] || fail "$name: the panel did not open"
  read -r QX QY QW QH <<<"$geom"
  sleep 1.5  # the first poll's numbers and the sparklines reach the cards
  shot "$name"
  crop_to "$name" $((QX - 8)) $((QY - 8)) $((QW + 16)) $((QH + 16))
  log "wrote $OUT/$name.png (panel ${QW}x${QH} at +${QX}+${QY})"
}
panel_snippet_python() {
  local py="${PYTHON:-$ROOT/.venv/bin/python}"
  [[ -x "$py" ]] || py="$(command -v python3)"
  PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$py" -c 'import traywidget' 2>/dev/null && echo "$py"
}
panel_shots() {
  panel_stop "$APP_PID"

  # 1. dark: the desktop's own dark theme, read by Qt's gtk3 platform theme
  panel_app dark QT_QPA_PLATFORMTHEME=gtk3 GTK_THEME=Adwaita:dark -- --demo
  panel_shot panel-dark click
  panel_stop "$PANEL_PID"

  # 2. the first run: no config, no account; nothing is clicked
  panel_app first-run -- 
  panel_shot panel-first-run
  panel_stop "$PANEL_PID"

  # 3. a small screen at 2x: its own X server and tray host
  local main_display="$DISPLAY" small
  timeout "$LIMIT" Xvfb -displayfd 3 -screen 0 1280x720x24 -nolisten tcp 3>"$WORK/small-display" \
    >"$WORK/small-xvfb.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 200); do [[ -s "$WORK/small-display" ]] && break; sleep 0.05; done
  small="$(tr -dc 0-9 <"$WORK/small-display")"
  [[ -n "$small" ]] || fail "the small screen's Xvfb did not start"
  export DISPLAY=":$small"
  if command -v xsetroot >/dev/null; then xsetroot -solid '#3b4252' || true; fi
  timeout "$LIMIT" trayer --edge top --align right --widthtype request --height "$TRAY_HEIGHT" \
    --transparent false --SetDockType true >"$WORK/small-trayer.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 200); do xwininfo -root -tree 2>/dev/null | grep -q '"panel" "trayer"' && break; sleep 0.05; done
  sleep 0.2
  panel_app small QT_SCALE_FACTOR=2 -- --demo
  panel_shot panel-small-2x click
  shot panel-small-2x-screen
  convert "$WORK/panel-small-2x-screen.png" "$OUT/panel-small-2x-screen.png"
  log "wrote $OUT/panel-small-2x-screen.png (the whole 1280x720 screen)"
  panel_stop "$PANEL_PID"
  export DISPLAY="$main_display"

  local py
  py="$(panel_snippet_python || true)"
  if [[ -z "$py" ]]; then
    log "skipped panel-long-label.png and settings-locked-keyring.png: they need the checkout's Python"
    return 0
  fi

  # 4. 60-character labels, five cards, the narrowest the panel gets: light, then dark
  PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" timeout "$LIMIT" "$py" - "$WORK" <<'PY' || fail "the long-label shot failed"
import sys
from datetime import timedelta
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication
app = QApplication(["traywidget"])
from tests.ui.conftest import NOW, make_snapshot
from traywidget.model import ErrorInfo, State
from traywidget.ui.panel import PanelWindow

LABEL = "Team research account for the evaluation of long contexts {:02d}"  # 60 characters
dark = QPalette()
for role, color in {QPalette.ColorRole.Window: "#202124", QPalette.ColorRole.WindowText: "#e8eaed",
                    QPalette.ColorRole.Base: "#17181a", QPalette.ColorRole.Text: "#e8eaed",
                    QPalette.ColorRole.Button: "#303134", QPalette.ColorRole.ButtonText: "#e8eaed",
                    QPalette.ColorRole.Highlight: "#8ab4f8", QPalette.ColorRole.Mid: "#3c4043"}.items():
    dark.setColor(role, QColor(color))
for name, palette in (("light", None), ("dark", dark)):
    panel = PanelWindow(clock=lambda: NOW + timedelta(seconds=42), wall_time=lambda: NOW.timestamp())
    if palette is not None:
        panel.setPalette(palette)
    ids = [f"acct{i}" for i in range(5)]
    panel.set_accounts(ids)
    for i, account_id in enumerate(ids):
        panel.update_snapshot(make_snapshot(
            account_id, label=LABEL.format(i + 1), hour=(1234 - 300 * i, 1500), day=(14999 - 3000 * i, 15000),
            state=State.RATE_LIMITED if i == 1 else State.OK,
            error=ErrorInfo("Hourly request limit exceeded", 429) if i == 1 else None).with_changes(
                streams=2 if i == 0 else None))
    panel.resize(panel.minimumSizeHint().width(), 900)
    panel.show()
    for _ in range(5):
        app.processEvents()
    panel.grab().save(f"{sys.argv[1]}/long-{name}.png")
PY
  convert "$WORK/long-light.png" "$WORK/long-dark.png" +append "$OUT/panel-long-label.png"
  log "wrote $OUT/panel-long-label.png (light | dark)"

  # 5. Settings on a locked keyring: gnome-keyring on the private bus, locked, its prompt dismissed
  if command -v gnome-keyring-daemon >/dev/null; then
    local keyring_home="$WORK/keyring-home"
    mkdir -p "$keyring_home"
    printf 'shots-login-password' | HOME="$keyring_home" timeout "$LIMIT" gnome-keyring-daemon --foreground \
      --unlock --components=secrets >/dev/null 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do
      dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.ListNames 2>/dev/null | grep -q '"org.freedesktop.secrets"' && break
      sleep 0.1
    done
    HOME="$keyring_home" PYTHON_KEYRING_BACKEND= PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" \
      timeout "$LIMIT" "$py" - "$WORK" <<'PY' || fail "the locked-keyring shot failed"
import asyncio, os, subprocess, sys
from pathlib import Path
os.environ.pop("PYTHON_KEYRING_BACKEND", None)
import secretstorage
secretstorage.get_default_collection(secretstorage.dbus_init()).lock()
from PySide6.QtWidgets import QApplication
import qasync
app = QApplication(["traywidget"])
from traywidget.core.config import Config, ConfigStore
from traywidget.core.engine import Engine
from traywidget.core.secrets import KeyringSecretStore
from traywidget.core.tasks import TaskRunner
from traywidget.model import Account
from traywidget.ui.controller import AppController

loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
secrets = KeyringSecretStore()
store = ConfigStore(Path(sys.argv[1]) / "locked-keyring-config")
store.save(Config(accounts=(Account("main", "routing.run", "Main", "https://api.routing.run/v1"),)))
controller = AppController(Engine([], secrets), config=store.load(), config_store=store, secrets=secrets,
                           runner=TaskRunner(loop))
dialog = controller.open_settings()
dialog.move(40, 40)

async def answered():
    while not dialog.keyring_again.isEnabled():
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # painted

loop.run_until_complete(asyncio.wait_for(answered(), 60))
geometry = dialog.frameGeometry()
subprocess.run(["import", "-window", "root", "-crop",
                f"{geometry.width() + 16}x{geometry.height() + 16}+{geometry.x() - 8}+{geometry.y() - 8}",
                f"{sys.argv[1]}/settings-locked-keyring.png"], check=True, timeout=30)
loop.close()
PY
    cp "$WORK/settings-locked-keyring.png" "$OUT/settings-locked-keyring.png"
    log "wrote $OUT/settings-locked-keyring.png"
  else
    log "skipped settings-locked-keyring.png: needs gnome-keyring-daemon"
  fi
}
panel_shots

log "done: $(ls "$OUT" | tr '\n' ' ')"
