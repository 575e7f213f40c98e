#!/usr/bin/env bash
# Regenerate one section of the talk (size, position or pca) and copy its report and figures next to
# this script (the README shows them from scripts/results/<section>/).
#   scripts/reproduce.sh position [extra npae reproduce options]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
section="${1:-size}"
out="runs/$section"
npae reproduce "$section" --out "$out" "${@:2}"
mkdir -p "$here/results/$section"
cp "$out"/report.md "$out"/metrics.json "$out"/*.png "$here/results/$section/"
