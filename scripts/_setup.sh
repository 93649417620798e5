# Shared set-up steps of scripts/test and scripts/serve (sourced, not run).

ensure_venv() {
  local extra="${1:-}"
  # What it does goes to stderr, step by step: a first run installs for a minute or more.
  local started=$SECONDS
  if [ ! -x .venv/bin/python ]; then
    echo "keyscope set-up: creating .venv (first run only)" >&2
    python3 -m venv .venv
    echo "keyscope set-up: upgrading pip in .venv" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
  fi
  local stamp=".venv/.keyscope-installed${extra:+-$extra}"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ -n "$(find src \( -name '*.c' -o -name '*.h' \) -newer "$stamp" 2>/dev/null | head -1)" ]; then
    echo "keyscope set-up: installing keyscope${extra:+[$extra]} and its dependencies into .venv," \
      "building its C reader (a minute or two the first time)" >&2
    if [ -n "$extra" ]; then
      .venv/bin/python -m pip install --quiet -e ".[$extra]"
    else
      .venv/bin/python -m pip install --quiet -e .
    fi
    touch "$stamp"
    echo "keyscope set-up: installed in $((SECONDS - started)) s" >&2
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

ensure_postgres() {
  # The scale-out suite's PostgreSQL (KEYSCOPE_TEST_POSTGRES_URL): the one on 127.0.0.1:5432,
  # else a throwaway cluster of the installed server binaries, else the suite skips.
  [ -n "${KEYSCOPE_TEST_POSTGRES_URL:-}" ] && return 0
  local url="postgresql://postgres@127.0.0.1:5432/postgres"
  if .venv/bin/python -c "import psycopg,sys; psycopg.connect(sys.argv[1], connect_timeout=3).close()" "$url" 2>/dev/null; then
    export KEYSCOPE_TEST_POSTGRES_URL="$url"
    return 0
  fi
  local initdb
  initdb="$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)"
  if [ -z "$initdb" ] && command -v apt-get >/dev/null 2>&1; then
    echo "no PostgreSQL found: installing Debian's postgresql for a throwaway test cluster"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        postgresql >/dev/null; } || echo "apt-get could not install postgresql"
    initdb="$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)"
  fi
  if [ -z "$initdb" ]; then
    echo "scale-out tests will skip: no PostgreSQL on 127.0.0.1:5432 and no server binaries"
    return 0
  fi
  start_throwaway_postgres "$(dirname "$initdb")"
}

start_throwaway_postgres() {
  local bin="$1" dir port as=()
  dir="$(mktemp -d)"
  port="$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  if [ "$(id -u)" -eq 0 ]; then  # initdb refuses root: run the cluster as postgres
    chown postgres "$dir"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust >"$dir/initdb.log" 2>&1 || {
    echo "scale-out tests will skip: initdb failed (see $dir/initdb.log)"; return 0; }
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null || {
    echo "scale-out tests will skip: the throwaway PostgreSQL did not start (see $dir/server.log)"; return 0; }
  # shellcheck disable=SC2064  # expand now: the trap must stop this very cluster
  trap "${as[*]} '$bin/pg_ctl' -D '$dir/data' -m fast stop >/dev/null; rm -rf '$dir'" EXIT
  export KEYSCOPE_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/postgres"
  echo "scale-out tests use a throwaway PostgreSQL on 127.0.0.1:$port"
}

ensure_chromium() {
  # The browser tests drive Debian's Chromium through Playwright (never a browser Playwright
  # downloads). When it cannot be installed they skip, saying why.
  command -v chromium >/dev/null 2>&1 && return 0
  echo "chromium not found: installing Debian's chromium for the browser tests"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null; } ||
    echo "browser tests will skip: chromium could not be installed (apt-get install chromium)"
}
