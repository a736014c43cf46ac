#!/usr/bin/env bash
# Install what a new machine lacks: a virtual environment with the pinned packages, and a Chromium for
# the browser publisher. Idempotent and quiet when everything is in place already.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${XBOT_VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating $VENV" >&2
  "$PYTHON" -m venv "$VENV"
fi

stamp="$VENV/.xbot-installed"
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing pinned packages into $VENV (about a minute the first time)" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>/dev/null || true
  "$VENV/bin/python" -m pip install --disable-pip-version-check -e '.[dev]' >"$VENV/pip-install.log" 2>&1 \
    || { tail -40 "$VENV/pip-install.log" >&2; echo "bootstrap: pip install failed (log: $VENV/pip-install.log)" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

# Chromium: XBOT_BROWSER_EXECUTABLE wins; else Debian's /usr/bin/chromium (installed here when we are
# root with apt); else Playwright's own download (needs internet).
if [ -z "${XBOT_BROWSER_EXECUTABLE:-}" ] && ! command -v chromium >/dev/null 2>&1 \
   && ! command -v chromium-browser >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing Debian's chromium (about 40 s)" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  elif [ ! -d "${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}" ]; then
    echo "bootstrap: downloading Playwright's Chromium" >&2
    "$VENV/bin/python" -m playwright install chromium || \
      echo "bootstrap: no Chromium available; the browser publisher will not work (the API one will)" >&2
  fi
fi
