#!/usr/bin/env bash
# Install what is missing, then run the main job end to end on the embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec "${XBOT_VENV:-.venv}/bin/xbot" demo "$@"
