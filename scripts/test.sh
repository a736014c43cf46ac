#!/usr/bin/env bash
# The whole test suite on SQLite, then every store-dependent test again on the real Postgres server
# (the Postgres pass deselects tests that never open a store: see xbot_pipeline_tests/conftest.py).
# Extra arguments go to pytest (e.g. `make test ARGS="-k breaker"`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
VENV=${XBOT_VENV:-.venv}
PY="$VENV/bin/python"

"$VENV/bin/ruff" check xbot_pipeline xbot_pipeline_tests scripts
"$VENV/bin/ruff" format --check xbot_pipeline xbot_pipeline_tests scripts >/dev/null \
  || { echo "test: ruff format would change files (run: $VENV/bin/ruff format .)" >&2; exit 1; }
"$VENV/bin/mypy" || { echo "test: mypy found type errors in xbot_pipeline/" >&2; exit 1; }

pg_ready() { "$PY" -c "import psycopg; psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=test', connect_timeout=3).close()" 2>/dev/null; }
if ! pg_ready; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "test: starting the local PostgreSQL cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 20); do pg_ready && break; sleep 0.5; done
  fi
fi

# Tests run in parallel worker processes (pytest-xdist): most of a test's time is spent waiting for a
# subprocess, a browser or a server, so more workers than cores still pays. XBOT_TEST_WORKERS=0 runs
# them in this one process.
WORKERS=${XBOT_TEST_WORKERS:-3}
PARALLEL=()
[ "$WORKERS" != "0" ] && PARALLEL=(-n "$WORKERS" --dist worksteal)

status=0
echo "== store: sqlite ==" >&2
XBOT_TEST_DATABASE=sqlite "$PY" -m pytest -q -p no:cacheprovider "${PARALLEL[@]}" "$@" || status=$?
if pg_ready; then
  echo "== store: postgres ==" >&2
  XBOT_TEST_DATABASE=postgres "$PY" -m pytest -q -p no:cacheprovider "${PARALLEL[@]}" "$@" || status=$?
elif [ "${CI:-}" = "true" ]; then
  echo "test: Postgres on 127.0.0.1:5432 is required under CI=true and does not answer" >&2
  status=1
else
  echo "test: Postgres not reachable; the postgres pass was skipped" >&2
fi
exit $status
