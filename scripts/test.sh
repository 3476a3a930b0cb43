#!/usr/bin/env bash
# The test command: creates ./venv (the virtualenv Pulumi.yaml names) if needed, installs the pinned
# requirements, and runs the offline test suite under Pulumi's mock runtime. Needs only Python 3.11+.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11+ is required" or 0)'
if [ ! -x venv/bin/python ]; then
  "$python" -m venv venv
fi
stamp=venv/.requirements.sha256
want=$("$python" -c 'import hashlib; print(hashlib.sha256(open("requirements.txt", "rb").read()).hexdigest())')
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi
# Bytecode, pytest's rewritten test modules among it, is kept under venv/ (outside the tree), so a
# warm run compiles nothing; some shells turn bytecode caching off, which costs every worker seconds.
unset PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX="$PWD/venv/pycache"
exec venv/bin/python -m pytest "$@"
