#!/usr/bin/env bash
# Set up (if needed), start the daemon watching a folder, print the web page's URL:
#   ./scripts/quickstart.sh ~/Pictures
# The daemon indexes in the background; `photoindex status` shows how far it is.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
folder=${1:-}
if [ -z "$folder" ]; then
  if [ -d ../shared/corpus/photos ]; then folder=../shared/corpus/photos; else folder=$HOME/Pictures; fi
fi
echo
echo "Starting photoindex on $folder; the web page:"
.venv/bin/photoindex serve --detach "$folder"
