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

# Split MLCI_ARGS like a shell would into the array `args` (for the caller), evaluating nothing.
# shellcheck disable=SC2034
split_args() {
  args=()
  if [[ -n ${MLCI_ARGS:-} ]]; then
    local file
    file=$(mktemp)
    "$python" -c 'import shlex, sys; sys.stdout.write("".join(a + "\0" for a in shlex.split(sys.argv[1])))' \
      "$MLCI_ARGS" >"$file" 2>/dev/null || fail "args cannot be split (unbalanced quotes?): $MLCI_ARGS"
    mapfile -d '' -t args <"$file"
    rm -f "$file"
  fi
}

# Install packages into a Python with the chosen installer (MLCI_INSTALLER: uv or pip).
install_packages() {
  local python=$1
  shift
  if [[ ${MLCI_INSTALLER:-pip} == uv ]]; then
    "$(uv_path)" pip install --python "$python" "$@"
  else
    "$python" -m pip install --disable-pip-version-check --progress-bar off "$@"
  fi
}

# Where the action keeps its own uv, when it installed one.
uv_path() {
  if command -v uv >/dev/null; then
    command -v uv
  else
    printf '%s/uv/bin/uv' "$(scratch_dir)"
  fi
}
