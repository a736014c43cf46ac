"""The seed's three monitoring queries, verbatim, and how to compare their answers across stores.

They run unmodified on the Postgres store, the SQLite store (the third one; the first two need
``NOW()``) and the DuckDB snapshot, and answer the same rows. The third differs in text only: it returns
``event_data->>'criticalIssues'``, a JSON array rendered as text, and each engine renders JSON its own
way. Postgres (``JSONB``) puts a space after each separator: ``["a", "b"]``. DuckDB prints it compact,
non-ASCII characters as they are: ``["a","b"]``. SQLite prints it compact but keeps the ``\\uXXXX``
escapes the store wrote for non-ASCII characters. Elements and their order are the same everywhere.
``canonical_json`` re-serialises such text one way (compact, keys sorted, non-ASCII characters kept: the
snapshot's own form), and ``seed_rows`` runs a seed query on a snapshot connection with that applied.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

# text exactly as in the seed (trailing spaces included): tested against the seed file
SEED_QUERIES = {
    "error_frequency": """SELECT 
  event_data->>'component' as component,
  event_data->>'error_type' as error_type,
  COUNT(*) as count
FROM system_events
WHERE event_type LIKE 'error_%'
  AND created_at > NOW() - INTERVAL '24 hours'
GROUP BY component, error_type
ORDER BY count DESC;""",
    "health": """SELECT 
  event_data->>'overallHealth' as health_score,
  event_data->>'errorRate' as error_rate,
  event_data->>'recoveryRate' as recovery_rate,
  created_at
FROM system_events
WHERE event_type = 'system_health_report'
ORDER BY created_at DESC
LIMIT 10;""",
    "critical": """SELECT 
  event_data->>'criticalIssues' as issues,
  created_at
FROM system_events
WHERE event_type = 'system_health_report'
  AND event_data->>'criticalIssues' != '[]'
ORDER BY created_at DESC;""",
}

JSON_TEXT_COLUMNS = {"critical": (0,)}  # column positions holding JSON rendered as text


def canonical_json(text: str | None) -> str | None:
    """One text for one JSON value: compact separators, sorted keys, non-ASCII characters kept."""
    if text is None:
        return None
    return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def canonical_rows(name: str, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """``rows`` of seed query ``name`` with its JSON text columns in ``canonical_json`` form."""
    columns = JSON_TEXT_COLUMNS.get(name, ())
    return [tuple(canonical_json(v) if i in columns else v for i, v in enumerate(row)) for row in rows]


def seed_rows(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple[Any, ...]]:
    """Run seed query ``name`` (``error_frequency``, ``health``, ``critical``) on a snapshot connection."""
    return canonical_rows(name, con.execute(SEED_QUERIES[name]).fetchall())
