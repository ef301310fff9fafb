#!/usr/bin/env bash
# Smoke-test a packaged traywidget binary (called by build.sh; usable on its own):
#   packaging/smoke.sh dist/traywidget
# Every background process is bounded by `timeout` and ended by its PID; nothing touches the
# user's config, cache or keyring (temp dirs, PYTHON_KEYRING_BACKEND=null unless a private
# Secret Service is started for the keyring round trip).
set -euo pipefail

BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
[[ -x "$BIN" ]] || { echo "usage: $0 PATH-TO-BINARY" >&2; exit 2; }
PY="${PY:-$(command -v python3)}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/traywidget-smoke.XXXXXX")"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]:-}"; do
    [[ -n "$pid" ]] && wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

export TRAYWIDGET_CONFIG_DIR="$WORK/config" TRAYWIDGET_CACHE_DIR="$WORK/cache"
export PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config"
mkdir -p "$HOME"
unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS || true
pass=0
ok() { pass=$((pass + 1)); printf 'ok   %s\n' "$*"; }
die() { printf 'FAIL %s\n' "$*" >&2; exit 1; }

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # wait_port PORT SECONDS
  "$PY" - "$1" "$2" <<'EOF'
import socket, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
end = time.monotonic() + limit
while time.monotonic() < end:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

# 1. --version (and how long a cold one-file start takes)
t0=$(date +%s.%N)
out="$(timeout 60 "$BIN" --version)" || die "--version exited $?"
t1=$(date +%s.%N)
[[ "$out" == traywidget\ * ]] || die "--version printed: $out"
ok "--version -> $out ($(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s)"

# 2. the simulator as a separate process, then the CLI against it
PORT="$(free_port)"
timeout 180 "$BIN" simulate --port "$PORT" --demo >"$WORK/sim.out" 2>"$WORK/sim.err" &
PIDS+=($!)
wait_port "$PORT" 30 || { cat "$WORK/sim.err" >&2; die "simulate did not listen on $PORT"; }
ok "simulate --port $PORT --demo is listening"

timeout 60 "$BIN" accounts add openrouter --id smoke --base-url "http://127.0.0.1:$PORT/openrouter/api/v1" \
  >"$WORK/add.out" 2>&1 || { cat "$WORK/add.out" >&2; die "accounts add"; }
ok "accounts add openrouter --id smoke (config in $TRAYWIDGET_CONFIG_DIR)"

# With the null keyring there is no key: status must say so cleanly (no traceback).
set +e
timeout 60 "$BIN" status --json >"$WORK/nokey.json" 2>"$WORK/nokey.err"; rc=$?
set -e
grep -q Traceback "$WORK/nokey.err" && { cat "$WORK/nokey.err" >&2; die "status without a key crashed"; }
state="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["accounts"][0]["state"])' "$WORK/nokey.json")" \
  || die "status --json without a key printed no JSON"
[[ "$state" == no_key ]] || die "status without a key: state $state"
ok "status --json without a keyring: state no_key, exit $rc"

# 3. status --json --demo: in-process simulator with demo accounts, parsed as JSON
timeout 90 "$BIN" status --json --demo >"$WORK/status.json" 2>"$WORK/status.err" || {
  rc=$?; [[ $rc -eq 124 ]] && die "status --demo timed out"; }
"$PY" - "$WORK/status.json" <<'EOF' || { cat "$WORK/status.err" >&2; die "status --json --demo output"; }
import json, sys
data = json.load(open(sys.argv[1]))
accounts = data["accounts"]
assert accounts, "no accounts"
print(f"ok   status --json --demo: {len(accounts)} accounts: "
      + ", ".join(str(a.get("account_id") or a.get("id") or a.get("provider")) for a in accounts))
EOF
pass=$((pass + 1))

# 4. a real Secret Service round trip, when this machine has one to start privately: store the demo
#    key of the separate simulator process; status reads it from the keyring and polls for real.
DEMO_KEY="$("$PY" -c 'from traywidget.simulator.demo_world import OPENROUTER_KEY as k; print(k)' 2>/dev/null \
  || printf 'sk-or-v1-%s0001' "$(printf 'd%.0s' $(seq 60))")"
if command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null; then
  cat >"$WORK/keyring.sh" <<EOF
set -e
echo -n smoke | gnome-keyring-daemon --unlock --components=secrets >/dev/null
unset PYTHON_KEYRING_BACKEND
printf '%s\n' "$DEMO_KEY" | "$BIN" keys set smoke
"$BIN" status --json > "$WORK/keyring.json"
EOF
  if timeout 90 dbus-run-session -- bash "$WORK/keyring.sh" >"$WORK/keyring.out" 2>"$WORK/keyring.err"; then
    "$PY" - "$WORK/keyring.json" <<'EOF' || { cat "$WORK/keyring.err" >&2; die "status after keys set"; }
import json, sys
(acct,) = json.load(open(sys.argv[1]))["accounts"]
assert acct["state"] == "ok" and acct["meters"], acct
print(f"ok   keys set (private gnome-keyring) + status --json against the simulator process: "
      f"{acct['id']} {acct['state']}, {len(acct['meters'])} meters")
EOF
    pass=$((pass + 1))
  else
    cat "$WORK/keyring.out" "$WORK/keyring.err" >&2; die "keyring round trip"
  fi
else
  echo "skip keyring round trip (dbus-run-session / gnome-keyring-daemon not installed)"
fi

kill "${PIDS[0]}" 2>/dev/null || true

# 5. headless self-test: builds the tray and badge offscreen, exits 0
TRAYWIDGET_SELFTEST=1 QT_QPA_PLATFORM=offscreen timeout 60 "$BIN" --self-test >"$WORK/self.out" 2>&1 \
  || { cat "$WORK/self.out" >&2; die "--self-test exited $?"; }
ok "--self-test (offscreen)"
# ... and in another language: its catalog and Qt's are in the binary, and found
for language in de es zh_CN; do
  LANGUAGE="$language" TRAYWIDGET_SELFTEST=1 QT_QPA_PLATFORM=offscreen timeout 60 "$BIN" --self-test \
    >"$WORK/self.out" 2>&1 && grep -q "language $language" "$WORK/self.out" \
    || { cat "$WORK/self.out" >&2; die "--self-test in $language"; }
done
ok "--self-test in German, Spanish and Chinese (the app's and Qt's catalogs)"

# 6. doctor: runs without a display or bus and explains what is missing
set +e
timeout 60 "$BIN" doctor >"$WORK/doctor.out" 2>&1; rc=$?
set -e
grep -q "System tray" "$WORK/doctor.out" && ! grep -q Traceback "$WORK/doctor.out" \
  || { cat "$WORK/doctor.out" >&2; die "doctor"; }
ok "doctor without a desktop (exit $rc)"

# 7. under Xvfb + trayer the frozen doctor's Qt tray probe finds the tray
if command -v Xvfb >/dev/null && command -v trayer >/dev/null; then
  for n in $(seq 90 120); do [[ -e /tmp/.X11-unix/X$n || -e /tmp/.X$n-lock ]] || break; done
  timeout 60 Xvfb ":$n" -screen 0 640x200x24 -nolisten tcp >/dev/null 2>&1 & PIDS+=($!)
  for _ in $(seq 50); do [[ -e /tmp/.X11-unix/X$n ]] && break; sleep 0.1; done
  DISPLAY=":$n" timeout 60 trayer --edge top --align right --widthtype request --height 32 \
    --transparent false >/dev/null 2>&1 & PIDS+=($!)
  sleep 1
  set +e
  DISPLAY=":$n" timeout 60 "$BIN" doctor >"$WORK/doctor-x.out" 2>&1
  set -e
  grep -q "\[ok\] System tray" "$WORK/doctor-x.out" || { cat "$WORK/doctor-x.out" >&2; die "doctor under Xvfb+trayer"; }
  ok "doctor under Xvfb + trayer: $(grep 'System tray' "$WORK/doctor-x.out" | sed 's/  */ /g')"
else
  echo "skip doctor tray probe (Xvfb / trayer not installed)"
fi

echo "smoke: $pass passed, 0 failed"
