#!/usr/bin/env bash
# Screenshots of the real tray on a private X server, written to OUTDIR (default shots/, git-ignored):
#   tray.png   the docked badge in trayer's panel, enlarged SCALE x (4)
#   badge.png  the icon alone, enlarged 2*SCALE x
#   menu.png   the right-click menu (cropped to the menu and the tray)
#   panel.png  the usage panel opened by a left click (cropped to the panel)
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
log "done: $(ls "$OUT" | tr '\n' ' ')"
