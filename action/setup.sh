#!/usr/bin/env bash
# Pick the interpreter and the installer, and read the action's version, for the download cache
# key and the install.
# Inputs (environment): MLCI_INPUT_PYTHON, MLCI_INPUT_EXTRAS, MLCI_INPUT_INSTALLER;
# GITHUB_ACTION_PATH.
set -euo pipefail
# shellcheck source=action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

root=${GITHUB_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

wanted=${MLCI_INPUT_PYTHON:-}
if [[ -z $wanted ]]; then
  wanted=$(command -v python3 || command -v python || true)
  [[ -n $wanted ]] || fail "no python3 on PATH: add actions/setup-python before mlci, or set the python input"
fi
python=$(command -v -- "$wanted" || true)
[[ -n $python && -x $python ]] || fail "python input: $wanted is not an executable interpreter"

extras=${MLCI_INPUT_EXTRAS//[[:space:]]/}
if [[ ! $extras =~ ^[A-Za-z0-9_,-]*$ ]]; then
  fail "extras must be a comma-separated list such as sklearn,mlflow (got: $MLCI_INPUT_EXTRAS)"
fi
extras=${extras#,}
extras=${extras%,}

version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/mlci/__init__.py")
[[ -n $version ]] || fail "cannot read the mlci version from $root/mlci/__init__.py"

installer=${MLCI_INPUT_INSTALLER:-auto}
[[ $installer =~ ^(auto|uv|pip)$ ]] || fail "installer must be auto, uv or pip (got: $installer)"
if [[ $installer == auto ]]; then
  # uv resolves and installs several times faster than pip (docs/github-action.md): use it, and
  # fetch it with pip first when the runner lacks it (install.sh falls back to pip offline).
  installer=uv
fi

python_version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pip_cache=$("$python" -m pip cache dir 2>/dev/null || true)
pip_cache=${pip_cache:-${XDG_CACHE_HOME:-$HOME/.cache}/pip}
uv_cache=${UV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/uv}

set_output python "$python"
set_output python-version "$python_version"
set_output version "$version"
set_output extras "$extras"
set_output extras-key "${extras:-core}"
set_output pip-cache "$pip_cache"
set_output installer "$installer"
# The download caches restored before anything is installed (uv's only when uv installs).
if [[ $installer == uv ]]; then
  set_output cache-paths "$pip_cache"$'\n'"$uv_cache"
else
  set_output cache-paths "$pip_cache"
fi
echo "mlci $version for $python (Python $python_version), extras: ${extras:-none}, installer: $installer"
