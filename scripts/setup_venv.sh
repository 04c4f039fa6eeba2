#!/usr/bin/env bash
# Create (or repair) the project virtualenv at <repo>/.venv and install the pinned dependencies.
#
#   bash scripts/setup_venv.sh          # idempotent: instant when nothing changed
#   PYTHON=/path/to/python3.10 bash scripts/setup_venv.sh
#   VENV_FORCE=1 bash scripts/setup_venv.sh  # reinstall even if the stamp matches
#   bash scripts/setup_venv.sh --print-python   # only show which interpreter would be used
#
# Interpreter search order: $PYTHON, python3.10 on PATH, any pyenv-installed 3.10.x,
# then python3 if it happens to be 3.8-3.10. Rasa 3.6 supports Python 3.8-3.10 only.
# The install is `pip install -r requirements.in -c requirements.lock`; on success
# .venv/.installed holds a hash of both files (and the interpreter version), so a re-run
# is a no-op and any change to either file triggers a reinstall.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.installed"

log() { printf '[setup_venv] %s\n' "$*" >&2; }
die() { printf '[setup_venv] ERROR: %s\n' "$*" >&2; exit 1; }

INSTALL_HINT="Python 3.10 is required (Rasa 3.6 supports 3.8-3.10). Install it with pyenv: \
'pyenv install 3.10.13', or 'apt install python3.10 python3.10-venv', \
or set PYTHON=/path/to/python3.10"

# Prints "3.10" etc. for a working interpreter, nothing (and non-zero) otherwise.
py_version() {
    "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null
}

version_ok() {
    case "$1" in
        3.8|3.9|3.10) return 0 ;;
        *) return 1 ;;
    esac
}

find_python() {
    local cand ver
    if [[ -n "${PYTHON:-}" ]]; then
        ver="$(py_version "$PYTHON")" || die "PYTHON=$PYTHON does not run. $INSTALL_HINT"
        version_ok "$ver" || die "PYTHON=$PYTHON is Python $ver. $INSTALL_HINT"
        echo "$PYTHON"
        return
    fi
    # python3.10 on PATH (a pyenv shim for a non-selected version fails to run: skip it).
    if cand="$(command -v python3.10 2>/dev/null)" && ver="$(py_version "$cand")" && version_ok "$ver"; then
        echo "$cand"
        return
    fi
    # Any pyenv-installed 3.10.x, newest first.
    local pyenv_root=""
    if command -v pyenv >/dev/null 2>&1; then
        pyenv_root="$(pyenv root 2>/dev/null || true)"
        local v
        for v in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -t. -k3,3nr); do
            cand="$(pyenv prefix "$v" 2>/dev/null)/bin/python3.10" || continue
            if [[ -x "$cand" ]] && ver="$(py_version "$cand")" && version_ok "$ver"; then
                echo "$cand"
                return
            fi
        done
    fi
    # pyenv installed but not on PATH (common in non-login shells / CI).
    for cand in "${pyenv_root:-${PYENV_ROOT:-$HOME/.pyenv}}"/versions/3.10*/bin/python3.10; do
        if [[ -x "$cand" ]] && ver="$(py_version "$cand")" && version_ok "$ver"; then
            echo "$cand"
            return
        fi
    done
    # Last resort: a python3 that is already 3.8-3.10.
    for cand in python3.9 python3.8 python3; do
        if command -v "$cand" >/dev/null 2>&1 && ver="$(py_version "$cand")" && version_ok "$ver"; then
            command -v "$cand"
            return
        fi
    done
    die "no Python 3.8-3.10 interpreter found. $INSTALL_HINT"
}

req_hash() {
    # sha256 of requirements.in + requirements.lock + the venv's Python version.
    local pyver="$1"
    { cat "$ROOT/requirements.in" "$ROOT/requirements.lock"; echo "python=$pyver"; } \
        | sha256sum | cut -d' ' -f1
}

if [[ "${1:-}" == "--print-python" ]]; then
    find_python
    exit 0
fi

# Serialise concurrent runs (e.g. `make run` and `make test` started together on a fresh clone).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$ROOT/.venv.lock"
    flock 9
fi

[[ -f "$ROOT/requirements.in" ]] || die "requirements.in not found in $ROOT"
[[ -f "$ROOT/requirements.lock" ]] || die "requirements.lock not found in $ROOT"

# Is the existing venv usable?
venv_ver=""
if [[ -x "$VENV/bin/python" ]]; then
    if venv_ver="$(py_version "$VENV/bin/python")" && version_ok "$venv_ver"; then
        :
    else
        log "existing .venv is broken or has the wrong Python (${venv_ver:-not runnable}); recreating"
        rm -rf "$VENV"
        venv_ver=""
    fi
elif [[ -e "$VENV" ]]; then
    log "existing .venv has no bin/python; recreating"
    rm -rf "$VENV"
fi

if [[ -z "$venv_ver" ]]; then
    PY="$(find_python)"
    log "creating .venv with $PY ($("$PY" -V 2>&1))"
    if ! "$PY" -m venv "$VENV"; then
        rm -rf "$VENV"
        die "'$PY -m venv' failed (on Debian/Ubuntu: apt install python3.10-venv). $INSTALL_HINT"
    fi
    venv_ver="$(py_version "$VENV/bin/python")" || die "new .venv/bin/python does not run"
fi

want="$(req_hash "$venv_ver")"
if [[ -z "${VENV_FORCE:-}" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
    log ".venv is up to date (Python $venv_ver)"
    exit 0
fi

log "installing requirements into .venv (Python $venv_ver); first install takes a few minutes"
start=$(date +%s)
rm -f "$STAMP"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$VENV/bin/python" -m pip install --progress-bar off -r "$ROOT/requirements.in" -c "$ROOT/requirements.lock" \
    || die "pip install failed; fix the error above and re-run (the venv is kept, the stamp is not written)"
"$VENV/bin/python" -c 'import rasa, rasa_sdk' \
    || die "rasa does not import after install"
echo "$want" >"$STAMP"
log "done in $(( $(date +%s) - start ))s"
