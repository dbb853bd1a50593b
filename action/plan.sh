#!/usr/bin/env bash
# Plan `mlci train` before anything runs: the inputs hash names the actions/cache entry of the
# training outputs, and whether training would run decides if the requirements are installed.
# Inputs (environment): MLCI_PYTHON, MLCI_CONFIG, MLCI_ARGS.
set -euo pipefail
# shellcheck source=action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

python=${MLCI_PYTHON:?}
argv=("$python" -m mlci)
if [[ -n ${MLCI_CONFIG:-} ]]; then
  argv+=(-c "$MLCI_CONFIG")
fi
argv+=(train --plan --if-present --format json)
split_args
for arg in "${args[@]}"; do
  [[ $arg == --force ]] && argv+=(--force)
done

plan=$("${argv[@]}")
{
  read -r declared
  read -r action
  read -r key
  read -r path
} < <("$python" -c '
import json, sys
plan = json.loads(sys.argv[1])
for name in ("declared", "action", "cache_key", "cache_path"):
    value = plan.get(name)
    print(str(value).lower() if isinstance(value, bool) else (value or ""))
' "$plan")

set_output declared "$declared"
set_output action "$action"
set_output cache-key "$key"
set_output cache-path "$path"
set_output inputs-hash "${key#mlci-train-}"
if [[ $declared != true ]]; then
  echo "mlci.yaml declares no train: section"
elif [[ -n $key ]]; then
  echo "training outputs: cache key $key; without a cached entry, training would $action"
else
  echo "training: $action"
fi
