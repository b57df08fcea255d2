#!/usr/bin/env bash
# Install the package with its test dependencies, then run every test (lint and type checks
# included: tests/test_code_quality.py runs ruff and mypy). pytest's "no tests collected"
# (exit 5) is a failure here, not a pass.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[test,postgres,spark]'
set +e
python3 -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
