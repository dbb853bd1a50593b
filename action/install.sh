#!/usr/bin/env bash
# Install mlci from the action's own checkout, so `uses: mlci/mlci@REF` runs exactly REF.
# Inputs (environment): MLCI_PYTHON, MLCI_EXTRAS (already checked by setup.sh); GITHUB_ACTION_PATH.
set -euo pipefail
# shellcheck source=action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

root=${GITHUB_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
python=${MLCI_PYTHON:?}
spec=$root
if [[ -n ${MLCI_EXTRAS:-} ]]; then
  spec="${root}[${MLCI_EXTRAS}]"
fi

# A system interpreter that forbids pip installs (PEP 668) gets a virtual environment that still
# sees its packages, so what the job installed for training stays importable.
managed=$("$python" - <<'PY'
import os, sys, sysconfig
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
print("yes" if sys.prefix == sys.base_prefix and os.path.exists(marker) else "no")
PY
)
if [[ $managed == yes ]]; then
  venv="$(scratch_dir)/venv"
  echo "$python is externally managed (PEP 668): installing mlci into $venv"
  "$python" -m venv --system-site-packages "$venv" || fail "cannot create a virtual environment with $python: use actions/setup-python, or set the python input"
  python="$venv/bin/python"
fi

echo "::group::pip install $spec"
"$python" -m pip install --disable-pip-version-check --progress-bar off "$spec"
echo "::endgroup::"
"$python" -m mlci --version
set_output python "$python"
