#!/usr/bin/env bash
# Install the mlci extras that mlci.yaml needs and the extras input did not bring
# (`mlflow.log: true` -> mlflow, a polars dataset -> polars, a DVC project -> dvc, ...).
# Inputs (environment): MLCI_PYTHON, MLCI_INSTALLER, MLCI_CONFIG; GITHUB_ACTION_PATH.
# Runs in working-directory.
set -euo pipefail
# shellcheck source=action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

root=${GITHUB_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
python=${MLCI_PYTHON:?}
argv=("$python" -m mlci)
if [[ -n ${MLCI_CONFIG:-} ]]; then
  argv+=(-c "$MLCI_CONFIG")
fi

# Into a file: in a job mlci fences what it prints on a terminal or pipe (::stop-commands::),
# and a file is read back as it is. A config that does not load is reported by the mlci
# command itself, with its line.
out="$(scratch_dir)/extras"
mkdir -p "$(dirname "$out")"
if ! "${argv[@]}" config extras --missing >"$out" 2>/dev/null; then
  echo "mlci.yaml could not be read here: no extras derived from it"
  exit 0
fi
missing=$(tr -d '[:space:]' <"$out")
if [[ -z $missing ]]; then
  echo "mlci.yaml needs no more extras"
  exit 0
fi
[[ $missing =~ ^[a-z,]+$ ]] || fail "unexpected extras from mlci config extras: $missing"
echo "::group::${MLCI_INSTALLER:-pip} install mlci[$missing] (what mlci.yaml needs)"
install_packages "$python" "${root}[${missing}]"
echo "::endgroup::"
