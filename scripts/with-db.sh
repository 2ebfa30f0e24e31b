#!/usr/bin/env bash
# Runs a command with DATABASE_URL set: the caller's when set, else the project's own local
# cluster, started (and installed on Debian) by scripts/db.sh.
set -euo pipefail
if [ -z "${DATABASE_URL:-}" ]; then
  line=$("$(dirname "${BASH_SOURCE[0]}")/db.sh" start | tail -n 1)
  export DATABASE_URL=${line#DATABASE_URL=}
fi
exec "$@"
