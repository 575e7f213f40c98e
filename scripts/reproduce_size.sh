#!/usr/bin/env bash
# Regenerate the size section of the talk and copy its report and small figures next to this script
# (the README shows them from scripts/results/size/).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
npae reproduce size --out "${1:-runs/size}" "${@:2}"
mkdir -p "$here/results/size"
cp "${1:-runs/size}"/{report.md,metrics.json,*.png} "$here/results/size/"
