#!/usr/bin/env bash
# Create .venv and install photoindex with its test tools; safe to run again.
#
# torch: on a machine without an NVIDIA GPU we install with constraints/cpu.txt,
# which pins the CPU build (no multi-GB CUDA packages). With a GPU, pip picks
# the normal CUDA build. PHOTOINDEX_TORCH=cpu|cuda overrides the guess.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi

choice=${PHOTOINDEX_TORCH:-auto}
if [ "$choice" = auto ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then choice=cuda; else choice=cpu; fi
fi
constraints=()
[ "$choice" = cpu ] && constraints=(-c constraints/cpu.txt)

# Skip pip entirely when nothing changed since the last install.
stamp=.venv/.photoindex-installed
want=$(cat pyproject.toml constraints/cpu.txt | sha256sum | cut -c1-16)-$choice
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check "${constraints[@]}" -e '.[test,dev]'
echo "$want" > "$stamp"
