#!/usr/bin/env bash
# The README's walk-through quotes docs/walkthrough.sh, which tests/e2e/walkthrough_test.cc runs:
# every "# >>> step: NAME" ... "# <<< step" region of the script must appear in the README, in the
# same order, as the code block after "<!-- walkthrough step: NAME -->", line for line.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
readme=${1:-$root/README.md}
script=${2:-$root/docs/walkthrough.sh}

# Prints each region as "NAME<TAB>line" lines, so that one diff compares names, order and text.
script_steps() {
  awk '
    /^# >>> step: / { name = substr($0, 13); inside = 1; next }
    /^# <<< step$/ { inside = 0; next }
    inside { print name "\t" $0 }
  ' "$1"
}
readme_steps() {
  awk '
    /^<!-- walkthrough step: .* -->$/ { name = $4; waiting = 1; next }
    waiting && /^```/ { waiting = 0; inside = 1; next }
    inside && /^```$/ { inside = 0; next }
    inside { print name "\t" $0 }
  ' "$1"
}

expected=$(script_steps "$script")
if [[ -z $expected ]]; then
  echo "FAIL: $script has no '# >>> step: NAME' regions" >&2
  exit 1
fi
if ! diff -u --label "docs/walkthrough.sh steps" --label "README.md walk-through" \
  <(printf '%s\n' "$expected") <(readme_steps "$readme"); then
  echo "FAIL: the README's walk-through differs from docs/walkthrough.sh: copy the script's" \
    "step regions into the README's marked code blocks (or the other way round)" >&2
  exit 1
fi
echo "ok: $(printf '%s\n' "$expected" | cut -f1 | uniq | wc -l) steps match"
