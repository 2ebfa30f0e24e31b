#!/usr/bin/env bash
# Bootstraps the project's own PostgreSQL + PostGIS cluster, for `make run` and `make test`.
#
#   scripts/db.sh start   install (Debian) if missing, init, start, create the database; the last
#                         line printed is DATABASE_URL=postgres://...  (idempotent: reuses a running
#                         cluster)
#   scripts/db.sh stop    stop the cluster
#   scripts/db.sh status  say whether it runs
#
# Settings (environment): ATLAAS_PG_DIR (default: var/pg in the repository), ATLAAS_PG_PORT
# (default 54329), ATLAAS_PG_VERSION (default 15). Everything but the last line goes to stderr.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pg_version=${ATLAAS_PG_VERSION:-15}
port=${ATLAAS_PG_PORT:-54329}
dir=${ATLAAS_PG_DIR:-$root/var/pg}
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
data=$dir/data
log=$dir/postgres.log
pwfile=$dir/password
dbname=atlaas
dbuser=atlaas

say() { echo "db: $*" >&2; }
die() { echo "db: $*" >&2; exit 1; }

bindir=/usr/lib/postgresql/$pg_version/bin
postgis_control=/usr/share/postgresql/$pg_version/extension/postgis.control

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

install_packages() {
  if [ -x "$bindir/pg_ctl" ] && [ -f "$postgis_control" ]; then return; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    cat >&2 <<TXT
db: PostgreSQL $pg_version with PostGIS 3 is not installed, and this is not a Debian-like system.
db: Install them with your system's packages, for example:
db:   macOS (Homebrew):  brew install postgresql@$pg_version postgis
db:   Fedora:            sudo dnf install postgresql-server postgis
db: or run any PostGIS and set DATABASE_URL=postgres://user:password@host:port/db before make.
TXT
    exit 1
  fi
  local pkgs=(postgresql "postgresql-$pg_version" "postgresql-$pg_version-postgis-3")
  say "installing ${pkgs[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y -q "${pkgs[@]}" >&2; then
    as_root apt-get update -q >&2
    as_root apt-get install -y -q "${pkgs[@]}" >&2
  fi
  [ -x "$bindir/pg_ctl" ] && [ -f "$postgis_control" ] || die "PostgreSQL $pg_version + PostGIS still missing after install"
}

# The cluster's files belong to an unprivileged user: postgres when we are root, else ourselves.
run_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

choose_dir() {
  [ "$(id -u)" = 0 ] || return 0
  id postgres >/dev/null 2>&1 || return 0 # nothing installed yet, so nothing to find
  mkdir -p "$dir"
  chown postgres: "$dir"
  if ! runuser -u postgres -- test -w "$dir"; then
    [ -z "${ATLAAS_PG_DIR:-}" ] || die "the postgres user cannot write ATLAAS_PG_DIR=$dir"
    # The repository is not reachable by the postgres user (e.g. under /root): use its home.
    local alt
    alt=/var/lib/postgresql/atlaas-$(echo "$root" | md5sum | cut -c1-8)
    say "postgres cannot write $dir; using $alt"
    dir=$alt; data=$dir/data; log=$dir/postgres.log; pwfile=$dir/password
    mkdir -p "$dir"; chown postgres: "$dir"
  fi
}

running() { [ -f "$data/PG_VERSION" ] && run_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; }

init_cluster() {
  [ -f "$data/PG_VERSION" ] && return
  say "creating a cluster in $data"
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$pwfile")
  [ "$(id -u)" = 0 ] && chown postgres: "$pwfile"
  run_pg "$bindir/initdb" -D "$data" -U "$dbuser" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 >&2
  cat >>"$data/postgresql.conf" <<CONF

# Atlaas development cluster (scripts/db.sh); the port is given at start (ATLAAS_PG_PORT)
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
shared_buffers = 256MB
work_mem = 16MB
maintenance_work_mem = 256MB
CONF
}

start() {
  install_packages
  choose_dir
  init_cluster
  [ -r "$pwfile" ] || die "$pwfile is missing: remove $data to start afresh"
  if running; then
    say "cluster already running in $data"
  else
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
      die "another server listens on 127.0.0.1:$port: stop it, or choose another port with ATLAAS_PG_PORT"
    fi
    say "starting the cluster on 127.0.0.1:$port (log: $log)"
    run_pg "$bindir/pg_ctl" -D "$data" -l "$log" -o "-p $port" -w -t 60 start >&2 9>&- \
      || { tail -n 20 "$log" >&2 || true; die "could not start PostgreSQL (see $log)"; }
  fi
  local pw url
  pw=$(cat "$pwfile")
  export PGPASSWORD=$pw
  local psql=("$bindir/psql" -X -q -h 127.0.0.1 -p "$port" -U "$dbuser" -v ON_ERROR_STOP=1)
  if [ "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$dbname'")" != 1 ]; then
    say "creating database $dbname"
    "${psql[@]}" -d postgres -c "CREATE DATABASE $dbname" >&2
  fi
  "${psql[@]}" -d "$dbname" -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS postgis" >&2
  url="postgres://$dbuser:$pw@127.0.0.1:$port/$dbname?sslmode=disable"
  echo "DATABASE_URL=$url"
}

stop() {
  choose_dir
  if running; then
    run_pg "$bindir/pg_ctl" -D "$data" -m fast -w stop >&2
  else
    say "no cluster running in $data"
  fi
}

# One bootstrap at a time (two `make` in parallel would race on initdb).
exec 9>"${TMPDIR:-/tmp}/atlaas-db-$(id -u).lock"
flock 9

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) choose_dir; if running; then say "running ($data, port $port)"; else say "not running"; exit 3; fi ;;
  *) die "usage: scripts/db.sh [start|stop|status]" ;;
esac
