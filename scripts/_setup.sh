# Shared set-up steps of scripts/test and scripts/serve (sourced, not run).

ensure_venv() {
  local extra="${1:-}"
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
  fi
  local stamp=".venv/.keyscope-installed${extra:+-$extra}"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ -n "$(find src -name '*.c' -newer "$stamp" 2>/dev/null | head -1)" ]; then
    if [ -n "$extra" ]; then
      .venv/bin/python -m pip install --quiet -e ".[$extra]"
    else
      .venv/bin/python -m pip install --quiet -e .
    fi
    touch "$stamp"
  fi
}

ensure_redis_server() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    echo "redis-server not found: installing Debian's redis-server and redis-tools"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server redis-tools >/dev/null
  fi
}
