#!/usr/bin/env bash
# Install the project's requirements file with the action's installer, after its download cache
# was restored (so a warm job downloads nothing).
# Inputs (environment): MLCI_PYTHON, MLCI_INSTALLER, MLCI_REQUIREMENTS (relative to the
# working directory).
set -euo pipefail
# shellcheck source=action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

python=${MLCI_PYTHON:?}
requirements=${MLCI_REQUIREMENTS:?}
if [[ ! -f $requirements ]]; then
  echo "no requirements file ($requirements): nothing to install"
  exit 0
fi
echo "::group::install -r $requirements"
install_packages "$python" -r "$requirements"
echo "::endgroup::"
