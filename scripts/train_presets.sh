#!/usr/bin/env bash
# Train both presets of the disk autoencoder with and without biases, into runs/.
set -euo pipefail
for preset in talk official; do
  npae train --preset "$preset" --out "runs/$preset"
  npae train --preset "$preset" --no-bias --out "runs/$preset-nobias"
done
