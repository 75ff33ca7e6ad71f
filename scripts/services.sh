#!/usr/bin/env bash
# Makes Redis and Postgres reachable for Conveyor, in this order of preference:
#   1. REDIS_URL / DATABASE_URL already answer: nothing to do.
#   2. A locally installed redis-server / PostgreSQL cluster: start it.
#   3. Root on Debian: install them from Debian's packages, then start them.
#   4. Otherwise stop with a message that names `docker compose up -d redis postgres`.
# Idempotent, and quiet when all is well.
set -euo pipefail

REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
DATABASE_URL="${DATABASE_URL:-postgresql://postgres:postgres@127.0.0.1:5432/conveyor}"

say() { echo "services: $*" >&2; }
give_up() {
  say "$1"
  say "start them yourself, for example: docker compose up -d redis postgres"
  exit 1
}

host_port() { # URL default-port -> "host port"
  node -e 'const u = new URL(process.argv[1]); console.log((u.hostname || "127.0.0.1").replace(/^\[|\]$/g, ""), u.port || process.argv[2])' "$1" "$2"
}

answers() { # host port
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

is_local() { [[ "$1" == 127.* || "$1" == localhost || "$1" == ::1 ]]; }

wait_for() { # name host port
  for _ in $(seq 1 60); do
    answers "$2" "$3" && return 0
    sleep 0.5
  done
  give_up "$1 did not start listening on $2:$3"
}

can_install() { [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; }

apt_install() {
  say "installing $* from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -qq "$@" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq "$@" >/dev/null || give_up "could not install $*"
  fi
}

ensure_redis() {
  read -r host port < <(host_port "$REDIS_URL" 6379)
  answers "$host" "$port" && return 0
  is_local "$host" || give_up "Redis at $host:$port does not answer (REDIS_URL)"
  if ! command -v redis-server >/dev/null; then
    can_install || give_up "Redis is not running on $host:$port and redis-server is not installed"
    apt_install redis-server
    # Debian starts the packaged service when it can; it may already answer.
    answers "$host" "$port" && return 0
  fi
  say "starting redis-server on $host:$port"
  mkdir -p /tmp/conveyor-redis
  redis-server --daemonize yes --bind "$host" --port "$port" --save "" --appendonly no \
    --dir /tmp/conveyor-redis --logfile /tmp/conveyor-redis/redis.log >/dev/null
  wait_for Redis "$host" "$port"
}

start_postgres_cluster() {
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  [[ -n "$version" ]] || return 1
  if [[ $(id -u) -eq 0 ]]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  else
    pg_ctlcluster "$version" main start >/dev/null 2>&1 || true
  fi
}

ensure_postgres() {
  read -r host port < <(host_port "$DATABASE_URL" 5432)
  answers "$host" "$port" && return 0
  is_local "$host" || give_up "Postgres at $host:$port does not answer (DATABASE_URL)"
  if ! command -v pg_ctlcluster >/dev/null || [[ -z "$(ls /etc/postgresql 2>/dev/null)" ]]; then
    can_install || give_up "Postgres is not running on $host:$port and PostgreSQL is not installed"
    apt_install postgresql
  fi
  say "starting PostgreSQL on $host:$port"
  start_postgres_cluster || give_up "no PostgreSQL cluster found under /etc/postgresql"
  wait_for Postgres "$host" "$port"
  # A fresh Debian cluster accepts TCP logins by password: give the postgres role the
  # password of the default DATABASE_URL (a no-op where trust auth is configured).
  if [[ $(id -u) -eq 0 ]]; then
    local password
    password=$(node -e 'console.log(decodeURIComponent(new URL(process.argv[1]).password || "postgres"))' "$DATABASE_URL")
    su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD '${password//\'/\'\'}'\"" >/dev/null 2>&1 || true
  fi
}

ensure_redis
ensure_postgres
