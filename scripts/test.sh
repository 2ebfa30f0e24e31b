#!/usr/bin/env bash
# The whole test suite (`make test`): a real PostGIS (installed and started when DATABASE_URL is
# unset), the container files validated, vet, then every Go test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CI=${CI:-true}   # in the suite a missing database is a failure, never a skip

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

echo "== docker-compose.yml (validated without a container engine)"
if ! command -v docker-compose >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q docker-compose >/dev/null \
    || { as_root apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q docker-compose >/dev/null; }
fi
if command -v docker-compose >/dev/null 2>&1; then
  docker-compose -f docker-compose.yml config -q
  echo "docker-compose.yml is valid"
else
  echo "docker-compose not available: docker-compose.yml not validated" >&2
  exit 1
fi

echo "== gofmt and go vet"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
go vet ./...

echo "== go test (PostGIS: ${DATABASE_URL:+given by DATABASE_URL}${DATABASE_URL:-local cluster})"
exec scripts/with-db.sh go test -count=1 "$@" ./...
