#!/usr/bin/env bash
# Install mlci from the action's own checkout, so `uses: mlci/mlci@REF` runs exactly REF.
# Inputs (environment): MLCI_PYTHON, MLCI_EXTRAS, MLCI_INSTALLER, MLCI_VERSION (checked by
# setup.sh); GITHUB_ACTION_PATH. Outputs: python, installer (what was really used).
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

# uv when asked for: from PATH, else fetched with pip next to the action's scratch files; pip
# when that fails (an offline runner), so the install never depends on uv being reachable.
export MLCI_INSTALLER=${MLCI_INSTALLER:-pip}
if [[ $MLCI_INSTALLER == uv ]] && ! command -v uv >/dev/null && [[ ! -x $(uv_path) ]]; then
  tool_dir="$(scratch_dir)/uv"
  if ! "$python" -m pip install --disable-pip-version-check --progress-bar off -q --target "$tool_dir" uv >/dev/null 2>&1; then
    echo "::notice title=mlci::uv could not be installed, installing with pip instead"
    MLCI_INSTALLER=pip
  fi
fi

# A second mlci step in the same job finds mlci installed: nothing to do.
stamp="$(scratch_dir)/installed"
wanted="$python ${MLCI_VERSION:-} ${MLCI_EXTRAS:-}"
if [[ -n ${MLCI_VERSION:-} && -f $stamp && $(<"$stamp") == "$wanted" ]] && "$python" -m mlci --version >/dev/null 2>&1; then
  echo "mlci ${MLCI_VERSION} with extras '${MLCI_EXTRAS:-}' is installed already"
else
  echo "::group::$MLCI_INSTALLER install $spec"
  install_packages "$python" "$spec"
  echo "::endgroup::"
  mkdir -p "$(dirname "$stamp")"
  printf '%s' "$wanted" >"$stamp"
fi
"$python" -m mlci --version
set_output python "$python"
set_output installer "$MLCI_INSTALLER"
