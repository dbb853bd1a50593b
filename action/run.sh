#!/usr/bin/env bash
# Run one mlci command for the action and turn its result into step outputs.
# Inputs (environment): MLCI_PYTHON, MLCI_COMMAND, MLCI_ARGS, MLCI_CONFIG, MLCI_COMMENT,
# MLCI_FAIL_ON_GATE, MLCI_REPORT_ID, GITHUB_TOKEN, and the Actions environment.
set -euo pipefail
# shellcheck source=action/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

python=${MLCI_PYTHON:?}
command=${MLCI_COMMAND:-check}
report_id=${MLCI_REPORT_ID:-}
comment=${MLCI_COMMENT:-true}
fail_on_gate=${MLCI_FAIL_ON_GATE:-true}
html_report=${MLCI_HTML_REPORT:-true}

[[ $command =~ ^[a-z][a-z-]*$ ]] || fail "command must be one mlci command such as check or promote (got: $command)"
[[ -z $report_id || $report_id =~ ^[A-Za-z0-9._-]+$ ]] || fail "report-id may hold only letters, digits, '.', '_' and '-' (got: $report_id)"
[[ $comment =~ ^(true|false|artifact)$ ]] || fail "comment must be true, false or artifact (got: $comment)"
[[ $fail_on_gate =~ ^(true|false)$ ]] || fail "fail-on-gate must be true or false (got: $fail_on_gate)"
[[ $html_report =~ ^(true|false)$ ]] || fail "html-report must be true or false (got: $html_report)"

work="$(scratch_dir)/${report_id:-default}"
mkdir -p "$work"

# The args input is split like a shell would, but nothing in it is evaluated.
split_args

# Which pull request this is: none, one from this repository, or one whose token cannot write
# (a fork, or Dependabot): then the comment goes to an artifact for the workflow_run half.
pull_request=$("$python" - <<'PY'
import json, os
try:
    with open(os.environ.get("GITHUB_EVENT_PATH", ""), encoding="utf-8") as handle:
        event = json.load(handle)
except (OSError, ValueError):
    event = {}
pr = event.get("pull_request") if isinstance(event, dict) else None
if not isinstance(pr, dict) or not pr.get("number"):
    print("none")
else:
    def repo(side):
        return ((pr.get(side) or {}).get("repo") or {}).get("full_name")
    head, base = repo("head"), repo("base")
    readonly = (head and base and head != base) or os.environ.get("GITHUB_ACTOR") == "dependabot[bot]"
    print("readonly" if readonly else "writable")
PY
)

argv=("$python" -m mlci)
if [[ -n ${MLCI_CONFIG:-} ]]; then
  argv+=(-c "$MLCI_CONFIG")
fi
argv+=("$command")
report=""
html=""
# `report merge` publishes the merged report as `check` publishes its own; `report plan`
# prints the job matrix (its stdout is kept as the report-path file).
subcommand=""
if [[ $command == report && ${#args[@]} -gt 0 ]]; then
  subcommand=${args[0]}
  argv+=("$subcommand")
  args=("${args[@]:1}")
fi
case $command${subcommand:+ $subcommand} in
  "report plan")
    report="$work/plan.json"
    rm -f "$report"
    ;;
  check | "report merge")
    report="$work/report.json"
    rm -f "$report"
    argv+=(--format json -o "$report")
    if [[ $html_report == true ]]; then
      html="$work/report.html"
      rm -f "$html"
      argv+=(--html "$html")
    fi
    if [[ -n $report_id ]]; then
      argv+=(--report-id "$report_id")
    fi
    if [[ $pull_request != none && $comment != false ]]; then
      if [[ $comment == artifact || $pull_request == readonly ]]; then
        [[ $comment == artifact ]] || echo "::notice title=mlci::this pull request's token cannot comment (fork or Dependabot): the comment is saved as an artifact for the workflow_run half"
        rm -rf "$work/comment"
        argv+=(--comment-artifact "$work/comment")
      else
        argv+=(--comment)
      fi
    fi
    ;;
  promote)
    report="$work/promotion.json"
    rm -f "$report"
    argv+=(--format json)
    ;;
  train)
    report="$work/train.json"
    rm -f "$report"
    argv+=(--format json)
    ;;
esac

echo "mlci ${argv[*]:3}${args[*]:+ ${args[*]}}"
set +e
if [[ $command == promote || $command == train || $subcommand == plan ]]; then
  "${argv[@]}" "${args[@]}" | tee "$report"
  code=${PIPESTATUS[0]}
else
  "${argv[@]}" "${args[@]}"
  code=$?
fi
set -e

summary=""
run_id=""
if [[ -s $report ]]; then
  {
    read -r summary
    read -r run_id || true
  } < <("$python" - "$report" <<'PY'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as handle:
        data = json.load(handle)
except (OSError, ValueError):
    data = None
run_id = ""
if isinstance(data, dict) and "counts" in data:
    run = data.get("mlflow_run") or {}
    run_id = run.get("run_id") or ""
    data = {
        "status": data.get("status"),
        "exit_code": data.get("exit_code"),
        "counts": data.get("counts"),
        "report_id": data.get("report_id"),
        "mlflow_run_id": run_id or None,
    }
print(json.dumps(data, separators=(",", ":")))
print(run_id)
PY
  )
else
  report=""
fi

set_output exit-code "$code"
set_output passed "$([[ $code == 0 ]] && echo true || echo false)"
set_output report-path "$report"
set_output summary "$summary"
set_output mlflow-run-id "$run_id"
if [[ -n $html && -s $html ]]; then
  set_output html-report "$html"
else
  set_output html-report ""
fi
if [[ $command == train && -s $report ]]; then
  set_output train-skipped "$("$python" -c 'import json, sys; print(str(json.load(open(sys.argv[1])).get("skipped", "")).lower())' "$report")"
fi
if [[ -d $work/comment ]]; then
  set_output comment-artifact "$work/comment"
fi

if [[ $code == 1 && $fail_on_gate == false ]]; then
  echo "::warning title=mlci::a check failed; fail-on-gate is false, so the job goes on"
  exit 0
fi
exit "$code"
