#!/usr/bin/env bash
# Set up (if needed) and index a folder: ./scripts/quickstart.sh ~/Pictures
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
folder=${1:-}
if [ -z "$folder" ]; then
  if [ -d ../shared/corpus/photos ]; then folder=../shared/corpus/photos; else folder=$HOME/Pictures; fi
fi
shift || true
.venv/bin/photoindex index "$folder" "$@"
echo
echo "The web page (search, timeline, duplicates, folders), once the daemon runs (.venv/bin/photoindex serve):"
.venv/bin/photoindex open --print
