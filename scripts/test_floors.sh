#!/usr/bin/env bash
# Prove the dependency floors: install every dependency at the lowest version pyproject.toml
# allows (constraints-min.txt) into a separate venv and run the offline suite there.
# The embedded model is not installed (its tests are deselected): llama-cpp-python's
# compile has nothing to do with the floors. pip's output goes to $VENV/setup.log.
#   UTILITY_GAP_MIN_VENV=DIR   where to build the venv (default .venv-min)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/steps.sh
venv="${UTILITY_GAP_MIN_VENV:-.venv-min}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

python3 -m venv "$venv"
STEPS_LOG="$venv/setup.log"
: >"$STEPS_LOG"
echo "Floors: installing with -c constraints-min.txt into $venv (pip output: $STEPS_LOG)"
step "[1/3] pip and setuptools" "$venv/bin/python" -m pip install --upgrade pip "setuptools>=77" wheel
step "[2/3] utility-gap at its dependency floors" "$venv/bin/python" -m pip install -c constraints-min.txt ".[test]"
remove_build_leftovers
step "[3/3] every pin of constraints-min.txt is what got installed" "$venv/bin/python" scripts/check_pins.py constraints-min.txt
steps_total "Floors installed"
"$venv/bin/python" -m pytest -q -m "not embedded" -p no:cacheprovider
