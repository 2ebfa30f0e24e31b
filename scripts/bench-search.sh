#!/usr/bin/env bash
# HTTP load test of the fiche search: starts `bin/atlaas serve` on 127.0.0.1 (a free port) against
# a database already loaded with the demonstration atlas, waits until /readyz answers 200 (the
# search index built), runs wrk over the searches of scripts/search-queries.txt in turn, prints
# wrk's throughput and latency percentiles, then stops the server.
#
#   scripts/bench-search.sh [DATABASE_URL]      (default: $DATABASE_URL)
#
# Settings (environment):
#   CONNECTIONS=16 THREADS=2 DURATION=20s   wrk's -c, -t, -d
#   READY_TIMEOUT=900                       seconds to wait for /readyz (the index is built first:
#                                           ~15 s for the demo atlas, much longer for --scale 1000000)
#   INDEX_DIR=                              index directory to use and keep (default: a temporary
#                                           one, removed at the end); an index built there for the
#                                           same data is reused, so a second run starts at once
#   QUERIES=scripts/search-queries.txt      the searches (lines `name query-string`)
#   ATLAAS_BIN=bin/atlaas                   the binary (`make build`)
#
# Never point it at a production database: `serve` migrates the schema first.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
db_url=${1:-${DATABASE_URL:-}}
connections=${CONNECTIONS:-16}
threads=${THREADS:-2}
duration=${DURATION:-20s}
ready_timeout=${READY_TIMEOUT:-900}
queries=${QUERIES:-$root/scripts/search-queries.txt}
bin=${ATLAAS_BIN:-$root/bin/atlaas}

die() { echo "bench-search: $*" >&2; exit 1; }
say() { echo "bench-search: $*" >&2; }

[ -n "$db_url" ] || die "usage: $0 DATABASE_URL (or set DATABASE_URL)"
[ -x "$bin" ] || die "$bin is missing: run make build"
command -v wrk >/dev/null || die "wrk is missing: apt-get install wrk"
command -v curl >/dev/null || die "curl is missing"
[ -r "$queries" ] || die "cannot read $queries"

work=$(mktemp -d "${TMPDIR:-/tmp}/atlaas-bench.XXXXXX")
index_dir=${INDEX_DIR:-$work/index}
log=$work/serve.log
server_pid=

cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The searches, as Lua strings: each thread starts at a different line and cycles through all.
lua=$work/rotate.lua
{
  echo 'local paths = {'
  n=0
  while read -r name qs rest; do
    case $name in ''|'#'*) continue ;; esac
    [ -n "$qs" ] && [ -z "$rest" ] || die "$queries: want \`name query-string\`: $name $qs $rest"
    case $qs in *[\"\\]*) die "$queries: $name: quotes and backslashes must be URL-encoded" ;; esac
    echo "  \"/api/v1/fiches?$qs\","
    n=$((n + 1))
  done <"$queries"
  echo '}'
  cat <<'LUA'
local counter = 0
local threads = 0
function setup(thread)
  thread:set("offset", threads * 7)
  threads = threads + 1
end
function init(args)
  counter = tonumber(offset) or 0
end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1], { ["Accept"] = "application/json" })
end
LUA
} >"$lua"
[ "$n" -gt 0 ] || die "$queries holds no search"

say "starting $bin serve (index in $index_dir, log $log)"
"$bin" serve --database-url "$db_url" --addr 127.0.0.1:0 --index-dir "$index_dir" --log-level info >"$log" 2>&1 &
server_pid=$!

# The server logs `msg=serving url=http://127.0.0.1:PORT` once it listens.
base=
for _ in $(seq 1 300); do
  kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; die "the server exited"; }
  base=$(grep -o 'url=http://127\.0\.0\.1:[0-9]*' "$log" | head -n 1 | cut -d= -f2 || true)
  [ -n "$base" ] && break
  sleep 0.1
done
[ -n "$base" ] || { cat "$log" >&2; die "the server did not listen within 30 s"; }

start=$(date +%s)
until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$base/readyz" || true)" = 200 ]; do
  kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; die "the server exited"; }
  if [ $(($(date +%s) - start)) -ge "$ready_timeout" ]; then
    tail -n 20 "$log" >&2
    die "not ready after ${ready_timeout} s"
  fi
  sleep 0.5
done
say "ready after $(($(date +%s) - start)) s at $base"

# Each search must answer 200 before the load starts.
while read -r name qs _; do
  case $name in ''|'#'*) continue ;; esac
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$base/api/v1/fiches?$qs")
  [ "$code" = 200 ] || die "$name: HTTP $code for /api/v1/fiches?$qs"
done <"$queries"

say "wrk -t$threads -c$connections -d$duration over $n searches"
# wrk stops by itself after the duration; timeout is a safety net.
secs=${duration%s}
case $secs in *[!0-9]*) secs=600 ;; esac
timeout $((secs + 60)) wrk --latency -t"$threads" -c"$connections" -d"$duration" --timeout 10s -s "$lua" "$base"
