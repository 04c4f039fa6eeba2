#!/usr/bin/env bash
# `make run`: set everything up and run the three processes in the foreground.
#
#   1. .venv (scripts/setup_venv.sh)        4. database migrations (bot.cases.db.migrate)
#   2. .env with fresh secrets if missing   5. rasa (5005), action server (5055), back-office (8000)
#   3. trained model (cached in models/)    6. banner with URLs once all three answer
#
# Output of each process is prefixed with its name and also appended to var/log/<name>.log.
# Ctrl-C (or SIGTERM) stops all three and exits 0; if one process dies, the others are stopped
# and the script exits non-zero.
#
# Note: `rasa run` and `rasa run actions` listen on all interfaces (0.0.0.0) -- Rasa's default.
# Put a firewall / reverse proxy in front of them in production (docs/operations.md).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '[run] %s\n' "$*" >&2; }

bash scripts/setup_venv.sh
PY="$ROOT/.venv/bin/python"
RASA="$ROOT/.venv/bin/rasa"

"$PY" scripts/gen_env.py
set -a
# shellcheck disable=SC1091
. ./.env
set +a

export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export RASA_TELEMETRY_ENABLED="${RASA_TELEMETRY_ENABLED:-false}"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export SQLALCHEMY_SILENCE_UBER_WARNING=1
export PYTHONUNBUFFERED=1

RASA_PORT=5005
ACTIONS_PORT=5055
BACKOFFICE_PORT="${BACKOFFICE_PORT:-8000}"
BO_HOST="${BACKOFFICE_HOST:-127.0.0.1}"
case "$BO_HOST" in 0.0.0.0|::|"") BO_HOST=127.0.0.1 ;; esac

mkdir -p var var/log

MODEL="$("$PY" -m bot.training.model_cache --print-path)"
say "model: ${MODEL#"$ROOT"/}"

say "running database migrations"
"$PY" -c 'from bot.cases.db import migrate; from bot.settings import get_settings; migrate(get_settings().database_url)'

# ---------------------------------------------------------------------------------------------
# Process supervision. With job control on (set -m) every background job gets its own process
# group, so a terminal Ctrl-C reaches only this script, which then stops each group in order.
set -m
PIDS=()
NAMES=()
STOPPING=0

if [[ -t 1 ]]; then
    COLORS=($'\e[36m' $'\e[33m' $'\e[35m'); RESET=$'\e[0m'
else
    COLORS=("" "" ""); RESET=""
fi

# prefix NAME COLOR: copy stdin to var/log/NAME.log and to stdout with a "[NAME] " prefix.
# Ignores INT/TERM so it outlives its process and flushes the last lines.
prefix() {
    trap '' INT TERM
    local name="$1" color="$2" line
    while IFS= read -r line || [[ -n "$line" ]]; do
        printf '%s\n' "$line" >>"var/log/$name.log"
        printf '%s%-12s%s %s\n' "$color" "[$name]" "$RESET" "$line"
    done
}

start() {
    local name="$1"; shift
    local color="${COLORS[${#PIDS[@]} % 3]}"
    printf '\n===== %s start %s =====\n' "$name" "$(date -Is)" >>"var/log/$name.log"
    "$@" </dev/null > >(prefix "$name" "$color") 2>&1 &
    PIDS+=("$!")
    NAMES+=("$name")
    local shown="$*"
    say "started $name (pid $!): ${shown//"$RASA_TOKEN"/<RASA_TOKEN>}"
}

stop_all() {
    local i pid deadline
    set +m  # no "[n]+ Terminated ..." job notices while we stop them
    for i in "${!PIDS[@]}"; do
        pid="${PIDS[$i]}"
        kill -0 "$pid" 2>/dev/null && kill -TERM -- "-$pid" 2>/dev/null || true
    done
    deadline=$((SECONDS + 20))
    for i in "${!PIDS[@]}"; do
        pid="${PIDS[$i]}"
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
        if kill -0 "$pid" 2>/dev/null; then
            say "${NAMES[$i]} did not stop in time; killing"
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

on_signal() {
    ((STOPPING)) && return
    STOPPING=1
    printf '\n' >&2
    say "stopping ${NAMES[*]}"
    stop_all
    say "stopped"
    trap - EXIT
    exit 0
}

on_exit() {
    local rc=$?
    ((STOPPING)) || { STOPPING=1; stop_all; }
    exit "$rc"
}

trap on_signal INT TERM
trap on_exit EXIT

url_ok() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
    else
        "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1" \
            >/dev/null 2>&1
    fi
}

check_alive() {
    local i
    for i in "${!PIDS[@]}"; do
        if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
            wait "${PIDS[$i]}" 2>/dev/null && rc=0 || rc=$?
            say "${NAMES[$i]} exited (status $rc) -- see var/log/${NAMES[$i]}.log; stopping the others"
            STOPPING=1
            stop_all
            trap - EXIT
            exit $((rc == 0 ? 1 : rc))
        fi
    done
}

if [[ -n "${TELEGRAM_TOKEN:-}" ]]; then
    if [[ -n "${TELEGRAM_WEBHOOK_URL:-}" ]]; then
        say "telegram: webhook mode, registering $TELEGRAM_WEBHOOK_URL on start"
    else
        say "telegram: long polling (TELEGRAM_WEBHOOK_URL is not set; fine for development)"
    fi
fi
# The action server keeps a silent new connection open 75 s instead of Sanic's 5 s (a busy
# moment would otherwise fail Rasa's calls); Rasa runs with our speed fixes (docs/performance.md).
start actions env SANIC_KEEP_ALIVE_TIMEOUT="${SANIC_KEEP_ALIVE_TIMEOUT:-75}" \
    "$RASA" run actions --port "$ACTIONS_PORT" --actions actions
start rasa "$PY" -m bot.dialogue.serve run --enable-api --auth-token "$RASA_TOKEN" --model "$MODEL" \
    --port "$RASA_PORT" --credentials credentials.yml --endpoints endpoints.yml
start backoffice "$PY" -m bot.backoffice

URLS=(
    "http://127.0.0.1:$RASA_PORT/"
    "http://127.0.0.1:$ACTIONS_PORT/health"
    "http://$BO_HOST:$BACKOFFICE_PORT/healthz"
)
say "waiting for ${URLS[*]}"
deadline=$((SECONDS + 300))
warned=0
while :; do
    check_alive
    ready=1
    for url in "${URLS[@]}"; do url_ok "$url" || { ready=0; break; }; done
    ((ready)) && break
    if ((SECONDS > deadline && !warned)); then
        say "still waiting after 300s for $url (check its log); Ctrl-C to stop"
        warned=1
    fi
    sleep 1
done

cat >&2 <<EOF

==============================================================================================
 信访助手 / petition assistant is running
   Chat (REST channel)  POST http://localhost:$RASA_PORT/webhooks/rest/webhook
                        {"sender": "me", "message": "你好"}
   Rasa HTTP API        http://localhost:$RASA_PORT/status?token=\$RASA_TOKEN
   Action server        http://localhost:$ACTIONS_PORT/health
   Back-office          http://$BO_HOST:$BACKOFFICE_PORT/   (API docs: /docs, /openapi.json)
                        Authorization: Bearer \$BACKOFFICE_TOKEN
   Tokens               $ROOT/.env  (RASA_TOKEN, BACKOFFICE_TOKEN)
   Data / logs          var/  (cases database, tracker store, var/log/*.log)
   Rasa and the action server listen on all interfaces (0.0.0.0).   Stop: Ctrl-C
==============================================================================================

EOF

# Wait until one of the processes exits (or a signal arrives: on_signal exits 0).
while :; do
    wait -n 2>/dev/null || true
    ((STOPPING)) && break
    check_alive
done
