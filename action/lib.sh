#!/usr/bin/env bash
# Helpers shared by the action's scripts: outputs, errors, the scratch directory.

# Write one step output, multiline-safe: a random delimiter that the value cannot contain.
set_output() {
  local name=$1 value=$2 delimiter
  delimiter="mlci_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  if [[ $value == *"$delimiter"* ]]; then
    fail "output $name contains its own delimiter"
  fi
  printf '%s<<%s\n%s\n%s\n' "$name" "$delimiter" "$value" "$delimiter" >>"${GITHUB_OUTPUT:-/dev/null}"
}

# An error annotation and exit 2 (the user's input is wrong), as mlci itself does.
fail() {
  printf '::error title=mlci::%s\n' "$(escape_data "$1")"
  exit 2
}

# Escape a message for a workflow command (the runner's own rules: %, CR, LF).
escape_data() {
  local text=$1
  text=${text//'%'/'%25'}
  text=${text//$'\r'/'%0D'}
  text=${text//$'\n'/'%0A'}
  printf '%s' "$text"
}

scratch_dir() {
  local base=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
  printf '%s/mlci' "$base"
}
