#!/usr/bin/env bash
# The whole test suite, twice over the operational store: SQLite, then the real Postgres server.
# Extra arguments go to pytest (e.g. `make test ARGS="-k breaker"`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
VENV=${XBOT_VENV:-.venv}
PY="$VENV/bin/python"

"$VENV/bin/ruff" check xbot_pipeline xbot_pipeline_tests scripts
"$VENV/bin/ruff" format --check xbot_pipeline xbot_pipeline_tests scripts >/dev/null \
  || { echo "test: ruff format would change files (run: $VENV/bin/ruff format .)" >&2; exit 1; }

pg_ready() { "$PY" -c "import psycopg; psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=test', connect_timeout=3).close()" 2>/dev/null; }
if ! pg_ready; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "test: starting the local PostgreSQL cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 1 20); do pg_ready && break; sleep 0.5; done
  fi
fi

status=0
echo "== store: sqlite ==" >&2
XBOT_TEST_DATABASE=sqlite "$PY" -m pytest -q -p no:cacheprovider "$@" || status=$?
if pg_ready; then
  echo "== store: postgres ==" >&2
  XBOT_TEST_DATABASE=postgres "$PY" -m pytest -q -p no:cacheprovider "$@" || status=$?
elif [ "${CI:-}" = "true" ]; then
  echo "test: Postgres on 127.0.0.1:5432 is required under CI=true and does not answer" >&2
  status=1
else
  echo "test: Postgres not reachable; the postgres pass was skipped" >&2
fi
exit $status
