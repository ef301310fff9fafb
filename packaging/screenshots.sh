#!/usr/bin/env bash
# Screenshots of the real tray on a private X server, written to OUTDIR (default shots/, git-ignored).
# Each session starts its own Xvfb, trayer and app (demo mode unless said otherwise):
#
#   1x    the demo at scale 1 in a 32-px tray:
#         tray-1x.png          the docked badge in trayer's panel, enlarged SCALE x (4)
#         badge-1x.png         the icon alone, enlarged 2*SCALE x
#         menu-1x.png          the right-click menu (with the tray it came from)
#         details-1x.png       the menu with the first account's details open
#         panel-1x.png         the usage panel opened by a left click
#         trouble-red-1x.png   the badge after a key is rejected on another account (red "!")
#         trouble-amber-1x.png the badge while an account is failing (offline / server error: amber "!")
#         menu-trouble-1x.png  the menu then
#         notification-1x.png  the rejected key's notification, as the desktop (dunst, D-Bus-started) shows it
#   2x    the same at QT_SCALE_FACTOR=2 in a 64-px tray (a HiDPI panel): *-2x.png
#   first-run  a fresh HOME, no accounts, no demo: tray-first-run.png, menu-first-run.png, panel-first-run.png
#   dark  the panel in a dark theme (QT_QPA_PLATFORMTHEME=gtk3, GTK_THEME=Adwaita:dark): panel-dark.png
#   de    the panel and menu in German (LANGUAGE=de): panel-de.png, menu-de.png, details-de.png and
#         settings-de.png (Settings opened from the menu)
#   zh    the same in Simplified Chinese (LANGUAGE=zh_CN; needs a CJK font such as fonts-noto-cjk):
#         panel-zh.png, menu-zh.png, details-zh.png, settings-zh.png
#   es    the same in Spanish (LANGUAGE=es): panel-es.png, menu-es.png, details-es.png, settings-es.png
#   small-2x        the demo's panel on a 1280x720 screen at QT_SCALE_FACTOR=2: panel-small-2x.png and
#                   panel-small-2x-screen.png (the whole screen: does it fit, beside the icon?)
#   long-label      five cards with 60-character labels on the narrowest panel, light | dark:
#                   panel-long-label.png (rendered offscreen from the checkout's Python)
#   locked-keyring  Settings opened on a locked gnome-keyring whose unlock prompt is dismissed:
#                   settings-locked-keyring.png (needs gnome-keyring-daemon and the checkout's Python)
#   refilled        an account after a burst of 429s through the gateway, before and after its minute's reset
#                   with no new traffic (the engine's own wake-up): badge, menu line, tooltip and panel card
#                   side by side: refilled-after-burst.png (offscreen, the checkout's Python)
#   severity        one account in each state: its own tray icon (16 and 32 px), its panel card with its dot,
#                   its severity, Waybar class and exit code: severity-of-each-state.png (offscreen)
#   dialogs-small-2x  Settings, and the account dialog over it, on a 1280x720 screen at QT_SCALE_FACTOR=2 with
#                   five accounts (one 60-character label), the keyring banner, URL advice and an error:
#                   settings-small-2x.png, editor-small-2x.png (the whole screen; light), and
#                   editor-small-2x-de-dark.png (German, dark) — from the checkout's Python
#   per-account     one icon per account, four accounts (two of one provider) docked in trayer:
#                   tray-per-account.png (left to right in the accounts' order, each its own band), and
#                   badges-per-account.png (the badges with figures, 22 and 44 px: 120/h, $4.2, 146K/d, 5/m)
#   help-de         `traywidget --help`, `gateway --help` and a mistyped option in German: help-de.png
#
#   bash packaging/screenshots.sh [OUTDIR]                  # every session, the checkout's app
#   SESSIONS="1x first-run" bash packaging/screenshots.sh   # only these
#   APP="dist/traywidget" bash packaging/screenshots.sh     # a packaged binary (no trouble shots: they need
#                                                           # the checkout's Python to find the demo keys)
#   SCALE=4 SCREEN=1024x768x24 bash packaging/screenshots.sh shots
#
# Needs Xvfb, trayer, xdotool, xwininfo (x11-utils), ImageMagick (import, convert, identify) and
# dbus-daemon. The app runs on a private X display and a private D-Bus session (so a StatusNotifierWatcher
# on the host's bus cannot pull the icon out of trayer), with throwaway config, cache, keyring backend
# and single-instance name: it never meets a user's real files or running copy. Every process is
# bounded by `timeout` and ended by its PID.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-${OUT:-$ROOT/shots}}"
SCALE="${SCALE:-4}"
SCREEN="${SCREEN:-1024x768x24}"
LIMIT="${LIMIT:-120}"  # seconds any helper process may live
SESSIONS="${SESSIONS:-1x 2x first-run dark de zh es small-2x long-label locked-keyring refilled severity dialogs-small-2x per-account help-de}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[[ -x "$PYTHON" ]] || PYTHON="$(command -v python3)"
if [[ -n "${APP:-}" ]]; then
  read -r -a APP_CMD <<<"$APP"
else
  APP_CMD=("$PYTHON" -m traywidget)
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

missing=()
for tool in Xvfb trayer xdotool xwininfo import convert identify dbus-daemon; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "screenshots.sh needs: ${missing[*]} (apt-get install xvfb trayer xdotool x11-utils imagemagick dbus)" >&2
  exit 2
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/traywidget-shots.XXXXXX")"
PIDS=()
stop_all() {
  local pid i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do  # app first, X server and bus last
    pid="${PIDS[$i]}"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap 'stop_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
log() { printf '%s\n' "$*"; }
fail() {
  echo "screenshots.sh: $*" >&2
  [[ -s "$S/app.log" ]] && { echo "--- app log:" >&2; tail -n 40 "$S/app.log" >&2; }
  exit 1
}
free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
sim() {  # sim METHOD PATH [JSON]: the demo simulator's /_sim control API
  "$PYTHON" - "$DEMO_PORT" "$@" <<'EOF'
import json, sys, urllib.request
port, method, path = sys.argv[1:4]
data = sys.argv[4].encode() if len(sys.argv) > 4 else None
request = urllib.request.Request(f"http://127.0.0.1:{port}/_sim/{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(request, timeout=5).read().decode())
EOF
}
demo_key() { "$PYTHON" -c "from traywidget.simulator.demo_world import $1; print($1)" 2>/dev/null; }

# ------------------------------------------------------------------------------------------ a session
# session NAME TRAY_HEIGHT [ENV=VALUE ...] -- [APP ARGS ...]: a bus, an X server, a tray, the app.
session() {
  SESSION_NAME="$1"
  local name="$1" height="$2"
  shift 2
  local app_env=() app_args=()
  while (($#)) && [[ "$1" != "--" ]]; do app_env+=("$1"); shift; done
  (($#)) && shift
  app_args=("$@")
  S="$WORK/$name"
  mkdir -p "$S/home" "$S/run" && chmod 700 "$S/run"
  export HOME="$S/home" XDG_RUNTIME_DIR="$S/run"
  timeout "$LIMIT" dbus-daemon --session --nofork --print-address=1 >"$S/bus" 2>/dev/null &
  PIDS+=($!)
  for _ in $(seq 100); do [[ -s "$S/bus" ]] && break; sleep 0.05; done
  [[ -s "$S/bus" ]] || fail "dbus-daemon did not start"
  DBUS_SESSION_BUS_ADDRESS="$(head -n 1 "$S/bus")"
  export DBUS_SESSION_BUS_ADDRESS
  # Xvfb picks a free display number itself (-displayfd): no race with other X servers starting now.
  timeout "$LIMIT" Xvfb -displayfd 3 -screen 0 "$SCREEN" -nolisten tcp 3>"$S/display" >"$S/xvfb.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 200); do [[ -s "$S/display" ]] && break; sleep 0.05; done
  local n
  n="$(tr -dc 0-9 <"$S/display")"
  [[ -n "$n" ]] || fail "Xvfb did not start: $(cat "$S/xvfb.log")"
  export DISPLAY=":$n"
  unset WAYLAND_DISPLAY QT_QPA_PLATFORM || true
  # As a desktop session does at login: services D-Bus starts (an installed dunst, for the app's
  # notifications) draw on this display. dunst then shows them at the bottom right, out of the shots.
  mkdir -p "$HOME/.config/dunst"
  printf '[global]\n    origin = bottom-right\n    offset = 10x10\n    timeout = 5\n' >"$HOME/.config/dunst/dunstrc"
  if command -v dbus-update-activation-environment >/dev/null; then
    dbus-update-activation-environment DISPLAY="$DISPLAY" HOME="$HOME" XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" || true
  fi
  # a desktop-ish background instead of black, when xsetroot (x11-xserver-utils) is there
  if command -v xsetroot >/dev/null; then xsetroot -solid '#3b4252' || true; fi
  timeout "$LIMIT" trayer --edge top --align right --widthtype request --height "$height" \
    --transparent false --SetDockType true >"$S/trayer.log" 2>&1 &
  PIDS+=($!)
  # The app must start after the tray exists: one started before finds no tray and never docks.
  for _ in $(seq 200); do xwininfo -root -tree 2>/dev/null | grep -q '"panel" "trayer"' && break; sleep 0.05; done
  xwininfo -root -tree 2>/dev/null | grep -q '"panel" "trayer"' || fail "trayer did not start: $(cat "$S/trayer.log")"
  sleep 0.2
  DEMO_PORT="$(free_port)"
  env TRAYWIDGET_CONFIG_DIR="$S/config" TRAYWIDGET_CACHE_DIR="$S/cache" \
    TRAYWIDGET_INSTANCE_NAME="traywidget-shots-$$-$name" TRAYWIDGET_DEMO_PORT="$DEMO_PORT" \
    PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring "${app_env[@]}" \
    timeout "$LIMIT" "${APP_CMD[@]}" "${app_args[@]}" >"$S/app.log" 2>&1 &
  APP_PID=$!
  PIDS+=($APP_PID)
  wait_for_icon
}

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
wait_for_icon() {
  local geom=""
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
  log "[$SESSION_NAME] docked icon ${IW}x${IH} at +${IX}+${IY} (trayer panel ${PW}x${PH} at +${PX}+${PY})"
}
# Wait until the app logged a line matching $1 (the app runs with --debug where this is used).
wait_for_log() {
  for _ in $(seq "${2:-100}"); do grep -q "$1" "$S/app.log" && return 0; sleep 0.1; done
  return 1
}

mkdir -p "$OUT"
shot() { import -window root "$S/$1.png"; }
# crop_to NAME X Y W H [resize%]: crop the root shot to a rectangle clamped to the screen
crop_to() {
  local name="$1" x0="$2" y0="$3" w="$4" h="$5" resize="${6:-100}" sw sh
  read -r sw sh <<<"$(identify -format '%w %h' "$S/$name.png")"
  ((x0 < 0)) && { w=$((w + x0)); x0=0; }
  ((y0 < 0)) && { h=$((h + y0)); y0=0; }
  ((x0 + w > sw)) && w=$((sw - x0))
  ((y0 + h > sh)) && h=$((sh - y0))
  convert "$S/$name.png" -crop "${w}x${h}+${x0}+${y0}" +repage -filter point -resize "${resize}%" "$OUT/$name.png"
}
# new mapped windows of class traywidget that were not there before ($1: ids before), as "x y w h" lines
new_windows() {
  local before="$1" id line
  while read -r line; do
    id="${line%% *}"
    grep -qx "$id" <<<"$before" && continue
    xwininfo -id "$id" 2>/dev/null | grep -q "Map State: IsViewable" || continue
    window_geometry "^ *$id "
  done < <(xwininfo -root -tree 2>/dev/null | grep -i '"traywidget")' | sed 's/^ *//')
}
window_ids() { xwininfo -root -tree 2>/dev/null | grep -o '^ *0x[0-9a-f]*' | tr -d ' '; }
# bounding box "x y w h" of the "x y w h" lines on stdin
union() { awk 'NR == 1 { x0 = $1; y0 = $2; x1 = $1 + $3; y1 = $2 + $4 }
  { if ($1 < x0) x0 = $1; if ($2 < y0) y0 = $2; if ($1 + $3 > x1) x1 = $1 + $3; if ($2 + $4 > y1) y1 = $2 + $4 }
  END { if (NR) print x0, y0, x1 - x0, y1 - y0 }'; }

# ------------------------------------------------------------------------------------------ the shots
badge_shots() {  # badge_shots SUFFIX
  shot "tray-$1"
  local m=8
  crop_to "tray-$1" $((PX - 2 * m)) 0 $((PW + 3 * m)) $((PH + m)) $((SCALE * 100))
  cp "$S/tray-$1.png" "$S/badge-$1.png"
  crop_to "badge-$1" "$IX" "$IY" "$IW" "$IH" $((SCALE * 200))
  log "[$SESSION_NAME] wrote tray-$1.png and badge-$1.png"
}
trouble_shot() {  # trouble_shot NAME: the tray after the demo accounts changed, enlarged
  sleep 0.5
  shot "$1"
  local m=8
  crop_to "$1" $((PX - 2 * m)) 0 $((PW + 3 * m)) $((PH + m)) $((SCALE * 100))
  log "[$SESSION_NAME] wrote $1.png"
}
notification_shot() {  # notification_shot NAME: what the desktop's notification server (dunst) shows
  local sw sh
  command -v dunst >/dev/null || { log "[$SESSION_NAME] no notification shot: dunst is not installed"; return; }
  read -r sw sh <<<"$(identify -format '%w %h' "$S/trouble-red-$suffix.png")"
  cp "$S/trouble-red-$suffix.png" "$S/$1.png"
  crop_to "$1" $((sw * 55 / 100)) $((sh * 70 / 100)) $((sw * 45 / 100)) $((sh * 30 / 100))
  log "[$SESSION_NAME] wrote $1.png"
}
menu_shot() {  # menu_shot NAME [KEYS...]: right click, then the keys; the menu and any submenu it opened
  local shot_name="$1" before windows box
  shift
  before="$(window_ids)"
  xdotool mousemove "$CX" "$CY"
  sleep 0.2
  xdotool click 3
  windows=""
  for _ in $(seq 30); do windows="$(new_windows "$before")"; [[ -n "$windows" ]] && break; sleep 0.1; done
  [[ -n "$windows" ]] || fail "the context menu did not open"
  if (($#)); then
    sleep 0.3
    xdotool key --delay 150 "$@"
    sleep 0.6
    windows="$(new_windows "$before")"
  fi
  sleep 0.4
  shot "$shot_name"
  box="$(printf '%s\n%s %s %s %s\n' "$windows" "$PX" "$PY" "$PW" "$PH" | union)"
  read -r MX MY MW MH <<<"$box"
  crop_to "$shot_name" $((MX - 8)) 0 $((MW + 16)) $((MY + MH + 8))
  log "[$SESSION_NAME] wrote $shot_name.png"
  xdotool key Escape Escape
  sleep 0.5
}
panel_shot() {  # panel_shot NAME: left click, the panel
  local before panel
  before="$(window_ids)"
  xdotool mousemove "$CX" "$CY"
  sleep 0.2
  xdotool click 1
  panel=""
  for _ in $(seq 50); do panel="$(new_windows "$before" | head -n 1)"; [[ -n "$panel" ]] && break; sleep 0.1; done
  [[ -n "$panel" ]] || fail "the panel did not open"
  read -r QX QY QW QH <<<"$panel"
  sleep 1
  shot "$1"
  crop_to "$1" $((QX - 8)) $((QY - 8)) $((QW + 16)) $((QH + 16))
  log "[$SESSION_NAME] wrote $1.png (panel ${QW}x${QH} at +${QX}+${QY})"
  xdotool key Escape
  sleep 0.3
}

refresh_now() {  # a middle click on the icon; then the pointer leaves, so no tooltip covers the shot
  xdotool mousemove "$CX" "$CY" click 2 mousemove $((CX - 200)) $((CY + 300))
}

# The demo at one scale: badge, menu, details, panel, then the badge with trouble elsewhere.
demo_session() {  # demo_session SUFFIX TRAY_HEIGHT [ENV=VALUE ...]
  local suffix="$1" height="$2"
  shift 2
  session "$suffix" "$height" "$@" -- --demo --debug
  wait_for_log " -> 200" 100 || true  # the first answered poll
  sleep 1.5  # the badge takes the first snapshots (coalesced redraw)
  badge_shots "$suffix"
  menu_shot "menu-$suffix"
  # Down: Show usage…, Kill all streams, the first account; Right opens its details.
  menu_shot "details-$suffix" Down Down Down Right
  local or_key rw_key
  or_key="$(demo_key OPENROUTER_KEY)" && rw_key="$(demo_key ROUTEWAY_MGMT_KEY)" || {
    log "[$SESSION_NAME] no trouble shots: the demo keys need the checkout's Python"
    panel_shot "panel-$suffix"
    stop_all
    return
  }
  # A rejected key on the OpenRouter account (not the one on the badge): the red mark.
  sim POST fault "{\"key\": \"$or_key\", \"fault\": \"status_401\"}" >/dev/null
  refresh_now
  wait_for_log "demo-openrouter GET key -> 401" 50 || log "[$SESSION_NAME] (no 401 seen in the log)"
  trouble_shot "trouble-red-$suffix"
  notification_shot "notification-$suffix"
  menu_shot "menu-trouble-$suffix"
  # The key fixed, Routeway's server failing instead: the amber mark.
  sim POST clear "{\"key\": \"$or_key\"}" >/dev/null
  sim POST fault "{\"key\": \"$rw_key\", \"fault\": \"json_500\"}" >/dev/null
  refresh_now
  wait_for_log "demo-routeway GET .* -> 500" 50 || log "[$SESSION_NAME] (no 500 seen in the log)"
  wait_for_log "demo-openrouter GET key -> 200" 50 || true
  trouble_shot "trouble-amber-$suffix"
  # The panel last: it may cover the icon (nothing can close it from here but the app itself).
  panel_shot "panel-$suffix"
  kill -0 "$APP_PID" 2>/dev/null || fail "the app died during the shots"
  stop_all
}

# A person's first start: no accounts, no demo.
first_run_session() {
  session first-run 32 -- --debug
  sleep 1
  badge_shots first-run
  shown_panel_shot panel-first-run  # with no account the panel opens by itself
  menu_shot menu-first-run
  stop_all
}

# Hooks for the panel's looks: a dark theme, another language. Each works as soon as the app offers it
# (the dark theme needs libgtk-3-0 and gnome-themes-extra; German needs the app's German catalog).
dark_session() {
  session dark 32 QT_QPA_PLATFORMTHEME=gtk3 GTK_THEME=Adwaita:dark -- --demo --debug
  sleep 2
  panel_shot panel-dark
  stop_all
}
language_session() {  # language_session SUFFIX LANGUAGE LOCALE: the menu, details, panel and Settings in it
  local suffix="$1" language="$2" locale="$3"
  session "$suffix" 32 LANGUAGE="$language" LANG="$locale" LC_ALL="$locale" -- --demo --debug
  wait_for_log " -> 200" 100 || true
  sleep 2
  menu_shot "menu-$suffix"
  menu_shot "details-$suffix" Down Down Down Right
  window_shot "settings-$suffix" Up Up Return
  panel_shot "panel-$suffix"  # last: the panel may cover the icon
  stop_all
}
window_shot() {  # window_shot NAME KEYS...: the window the menu item chosen with KEYS opens (e.g. Settings)
  local shot_name="$1" before window
  shift
  xdotool mousemove "$CX" "$CY"
  sleep 0.2
  xdotool click 3
  sleep 0.6
  before="$(window_ids)"
  xdotool key --delay 150 "$@"
  window=""
  for _ in $(seq 50); do window="$(new_windows "$before" | tail -n 1)"; [[ -n "$window" ]] && break; sleep 0.1; done
  [[ -n "$window" ]] || fail "no window opened"
  sleep 1.5  # the keyring check answers
  read -r WX WY WW WH <<<"$window"
  shot "$shot_name"
  crop_to "$shot_name" $((WX - 8)) $((WY - 8)) $((WW + 16)) $((WH + 16))
  log "[$SESSION_NAME] wrote $shot_name.png"
  xdotool key Escape
  sleep 0.3
}
german_session() { language_session de de de_DE.UTF-8; }

# ------------------------------------------------------------------------------ the panel's own sessions
# (The panel engineer's block: ui/panel.py, ui/settings.py, ui/account_editor.py.)
# The usage panel's window ("Usage — Traywidget") as "x y w h", once it is mapped.
usage_window() {
  local id
  id="$(xwininfo -root -tree 2>/dev/null | grep '"Usage' | awk 'NR == 1 {print $1}')"
  [[ -n "$id" ]] && xwininfo -id "$id" 2>/dev/null | grep -q "Map State: IsViewable" || return 1
  window_geometry "^ *$id "
}
shown_panel_shot() {  # shown_panel_shot NAME [SCREEN_NAME]: the panel already on screen, no click
  local geom=""
  for _ in $(seq 100); do geom="$(usage_window || true)"; [[ -n "$geom" ]] && break; sleep 0.1; done
  [[ -n "$geom" ]] || fail "the panel is not on screen"
  read -r QX QY QW QH <<<"$geom"
  sleep 1.5  # the first numbers and the sparklines reach the cards (the panel grows to them)
  read -r QX QY QW QH <<<"$(usage_window)"
  shot "$1"
  [[ -n "${2:-}" ]] && { cp "$S/$1.png" "$OUT/$2.png"; log "[$SESSION_NAME] wrote $2.png (the whole screen)"; }
  crop_to "$1" $((QX - 8)) $((QY - 8)) $((QW + 16)) $((QH + 16))
  log "[$SESSION_NAME] wrote $1.png (panel ${QW}x${QH} at +${QX}+${QY})"
}
small_screen_session() {
  SCREEN=1280x720x24 session small-2x 32 QT_SCALE_FACTOR=2 -- --demo --debug
  wait_for_log " -> 200" 100 || true
  xdotool mousemove "$CX" "$CY"
  sleep 0.2
  xdotool click 1
  shown_panel_shot panel-small-2x panel-small-2x-screen
  stop_all
}
long_label_session() {
  SESSION_NAME=long-label
  S="$WORK/long-label"
  mkdir -p "$S"
  QT_QPA_PLATFORM=offscreen timeout "$LIMIT" "$PYTHON" - "$S" <<'PY' || fail "the long-label shot failed"
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
  convert "$S/long-light.png" "$S/long-dark.png" +append "$OUT/panel-long-label.png"
  log "[long-label] wrote panel-long-label.png (light | dark)"
}
locked_keyring_session() {
  SESSION_NAME=locked-keyring
  S="$WORK/locked-keyring"
  command -v gnome-keyring-daemon >/dev/null || { log "[locked-keyring] skipped: needs gnome-keyring-daemon"; return; }
  mkdir -p "$S/home" "$S/run" && chmod 700 "$S/run"
  export HOME="$S/home" XDG_RUNTIME_DIR="$S/run"
  timeout "$LIMIT" dbus-daemon --session --nofork --print-address=1 >"$S/bus" 2>/dev/null &
  PIDS+=($!)
  for _ in $(seq 100); do [[ -s "$S/bus" ]] && break; sleep 0.05; done
  [[ -s "$S/bus" ]] || fail "dbus-daemon did not start"
  DBUS_SESSION_BUS_ADDRESS="$(head -n 1 "$S/bus")"
  export DBUS_SESSION_BUS_ADDRESS
  printf 'shots-login-password' | timeout "$LIMIT" gnome-keyring-daemon --foreground --unlock \
    --components=secrets >/dev/null 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.ListNames 2>/dev/null | grep -q '"org.freedesktop.secrets"' && break
    sleep 0.1
  done
  # Locked, and no one on this bus answers the unlock prompt Settings asks for: it is dismissed.
  env -u PYTHON_KEYRING_BACKEND QT_QPA_PLATFORM=offscreen timeout "$LIMIT" "$PYTHON" - "$S" <<'PY' \
    || fail "the locked-keyring shot failed"
import asyncio, sys
from pathlib import Path
import secretstorage
secretstorage.get_default_collection(secretstorage.dbus_init()).lock()
from PySide6.QtWidgets import QApplication
import qasync
app = QApplication(["traywidget"])
from traywidget.store.config import Config, ConfigStore
from traywidget.engine.engine import Engine
from traywidget.store.secrets import KeyringSecretStore
from traywidget.engine.loop_thread import LoopThread
from traywidget.ui.bridge import EngineBridge
from traywidget.model import Account
from traywidget.ui.controller import AppController

loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
secrets = KeyringSecretStore()
store = ConfigStore(Path(sys.argv[1]) / "config")
store.save(Config(accounts=(Account("main", "routing.run", "Main", "https://api.routing.run/v1"),)))
thread = LoopThread()
thread.start()
controller = AppController(Engine([], secrets), bridge=EngineBridge(thread), config=store.load(), config_store=store,
                           secrets=secrets)
dialog = controller.open_settings()

async def answered():
    while not dialog.keyring_again.isEnabled():  # the worker thread has answered
        await asyncio.sleep(0.05)

loop.run_until_complete(asyncio.wait_for(answered(), 60))
dialog.grab().save(f"{sys.argv[1]}/settings-locked-keyring.png")
thread.stop()
loop.close()
PY
  cp "$S/settings-locked-keyring.png" "$OUT/settings-locked-keyring.png"
  log "[locked-keyring] wrote settings-locked-keyring.png"
  stop_all
}

# ------------------------------------------------------------------------------ time and severity (issue 17)
offscreen_session() {  # offscreen_session NAME FUNCTION FILE: packaging/shots_offscreen.py FUNCTION -> FILE.png
  SESSION_NAME=$1
  S="$WORK/$1"
  mkdir -p "$S"
  QT_QPA_PLATFORM=offscreen timeout "$LIMIT" "$PYTHON" "$ROOT/packaging/shots_offscreen.py" "$2" "$OUT/$3.png" \
    || fail "the $1 shot failed"
  log "[$1] wrote $3.png"
}
# ------------------------------------------------------------------------------ small screens, first contact
# bare_display NAME SCREEN: a private bus and X server, no tray and no app (for windows drawn by a script).
bare_display() {
  SESSION_NAME="$1"
  S="$WORK/$1"
  mkdir -p "$S/home" "$S/run" && chmod 700 "$S/run"
  export HOME="$S/home" XDG_RUNTIME_DIR="$S/run"
  timeout "$LIMIT" Xvfb -displayfd 3 -screen 0 "$2" -nolisten tcp 3>"$S/display" >"$S/xvfb.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 200); do [[ -s "$S/display" ]] && break; sleep 0.05; done
  local n
  n="$(tr -dc 0-9 <"$S/display")"
  [[ -n "$n" ]] || fail "Xvfb did not start: $(cat "$S/xvfb.log")"
  export DISPLAY=":$n"
  unset WAYLAND_DISPLAY QT_QPA_PLATFORM || true
}
dialogs_small_session() {
  bare_display dialogs-small-2x 1280x720x24
  local args
  for args in "light en settings-small-2x editor-small-2x" "dark de - editor-small-2x-de-dark"; do
    read -r theme language settings editor <<<"$args"
    # The same dialogs the fit test checks (tests/e2e/test_dialogs_fit_xvfb.py), photographed; its script is
    # read without importing the tests (their conftest speaks English).
    env QT_SCALE_FACTOR=2 LANGUAGE="$language" XDG_CONFIG_HOME="$S/xdg" timeout "$LIMIT" "$PYTHON" - \
      "$S/editor.png" "$theme" "$ROOT/tests/e2e/test_dialogs_fit_xvfb.py" >/dev/null <<'PY' \
      || fail "the dialogs did not open"
import ast, sys
tree = ast.parse(open(sys.argv.pop(3), encoding="utf-8").read())
DIALOGS = next(ast.literal_eval(node.value) for node in tree.body
               if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DIALOGS")
exec(compile(DIALOGS, "dialogs", "exec"))
PY
    cp "$S/editor.png" "$OUT/$editor.png"
    [[ "$settings" != - ]] && cp "$S/editor-settings.png" "$OUT/$settings.png"
    log "[$SESSION_NAME] wrote $editor.png$([[ "$settings" != - ]] && echo " and $settings.png")"
  done
  stop_all
}
per_account_session() {
  local config="$WORK/per-account-config"
  mkdir -p "$config"
  cat >"$config/config.json" <<'JSON'
{"accounts": [
  {"id": "main", "provider": "routing.run", "label": "Main", "base_url": "https://api.routing.run/v1"},
  {"id": "work", "provider": "openrouter", "label": "Work", "base_url": "https://openrouter.ai/api/v1"},
  {"id": "rw", "provider": "routeway", "label": "Routeway", "base_url": "https://api.routeway.ai/v1"},
  {"id": "spare", "provider": "routing.run", "label": "Spare", "base_url": "https://api.routing.run/v1"}],
 "settings": {"icon_per_account": true}}
JSON
  # No keys here (a throwaway keyring): the icons say so; the point is their order and their bands.
  session per-account 32 TRAYWIDGET_CONFIG_DIR="$config" -- --debug
  sleep 1.5
  shot tray-per-account
  crop_to tray-per-account $((PX - 16)) 0 $((PW + 24)) $((PH + 8)) $((SCALE * 100))
  log "[$SESSION_NAME] wrote tray-per-account.png"
  stop_all
  QT_QPA_PLATFORM=offscreen timeout "$LIMIT" "$PYTHON" - "$WORK/badges.png" <<'PY' || fail "the badges failed"
import sys
from PySide6.QtGui import QImage, QPainter, QColor
from PySide6.QtWidgets import QApplication
app = QApplication(["traywidget"])
from traywidget.ui.badge import BadgeSpec, account_band, render_badge
from traywidget.ui.badge import FINE as OK, LOW
specs = [BadgeSpec("120", OK, cue="h", band=account_band(0)), BadgeSpec("$4.2", OK, band=account_band(1)),
         BadgeSpec("146K", OK, cue="d", band=account_band(2)), BadgeSpec("5", LOW, cue="m", band=account_band(3))]
sheet = QImage(8 + 4 * 52, 8 + 22 + 8 + 44 + 8, QImage.Format.Format_ARGB32)
sheet.fill(QColor("#3b4252"))
painter = QPainter(sheet)
for i, spec in enumerate(specs):
    painter.drawImage(8 + i * 52, 8, render_badge(spec, 22))
    painter.drawImage(8 + i * 52, 38, render_badge(spec, 44))
painter.end()
sheet.save(sys.argv[1])
PY
  convert "$WORK/badges.png" -filter point -resize 400% "$OUT/badges-per-account.png"
  log "[per-account] wrote badges-per-account.png"
}
help_session() {
  local text="$WORK/help-de.txt"
  {
    echo '$ LANGUAGE=de traywidget --help'
    LANGUAGE=de "${APP_CMD[@]}" --help
    echo
    echo '$ LANGUAGE=de traywidget gateway --help'
    LANGUAGE=de "${APP_CMD[@]}" gateway --help
    echo
    echo '$ LANGUAGE=de traywidget status --jsno'
    LANGUAGE=de "${APP_CMD[@]}" status --jsno 2>&1 || true
  } >"$text"
  # Drawn with Qt (ImageMagick's policy often refuses large text labels).
  QT_QPA_PLATFORM=offscreen timeout "$LIMIT" "$PYTHON" - "$text" "$OUT/help-de.png" <<'PY' || fail "help-de failed"
import sys
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter
from PySide6.QtWidgets import QApplication
app = QApplication(["traywidget"])
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
font = QFont("DejaVu Sans Mono", 11)
metrics = QFontMetrics(font)
image = QImage(max(metrics.horizontalAdvance(line) for line in lines) + 24, metrics.lineSpacing() * len(lines) + 24,
               QImage.Format.Format_RGB32)
image.fill(QColor("white"))
painter = QPainter(image)
painter.setFont(font)
painter.setPen(Qt.GlobalColor.black)
for i, line in enumerate(lines):
    painter.drawText(12, 12 + metrics.ascent() + i * metrics.lineSpacing(), line)
painter.end()
image.save(sys.argv[2])
PY
  log "[help-de] wrote help-de.png"
}

for s in $SESSIONS; do
  case "$s" in
    1x) demo_session 1x 32 ;;
    2x) demo_session 2x 64 QT_SCALE_FACTOR=2 ;;
    first-run) first_run_session ;;
    dark) dark_session ;;
    de) german_session ;;
    zh) language_session zh zh_CN zh_CN.UTF-8 ;;
    es) language_session es es es_ES.UTF-8 ;;
    small-2x) small_screen_session ;;
    long-label) long_label_session ;;
    locked-keyring) locked_keyring_session ;;
    refilled) offscreen_session refilled refilled_after_burst refilled-after-burst ;;
    severity) offscreen_session severity severity_of_each_state severity-of-each-state ;;
    dialogs-small-2x) dialogs_small_session ;;
    per-account) per_account_session ;;
    help-de) help_session ;;
    *) echo "screenshots.sh: unknown session $s (1x 2x first-run dark de zh es small-2x long-label locked-keyring" \
            "refilled severity dialogs-small-2x per-account help-de)" >&2
       exit 2 ;;
  esac
done
log "done: $(ls "$OUT" | tr '\n' ' ')"
