#!/usr/bin/env bash
# Flood: 100,000 invalid adverts a second (FLOOD_RATE) for 10 s from a third
# namespace at a vigil pair (tests/hostile.rs, the ignored test), release
# build. Prints the frames sent, the drops vigil counted, the CPU both
# daemons spent and each Master's longest gap between adverts; fails on a
# transition or an advert more than one interval late. Root, not CI.
#
#   scripts/flood.sh        env: FLOOD_RATE (100000)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "SKIPPED: needs root" >&2; exit 0; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cargo test --release -q --test hostile -- --ignored --nocapture flood 2>&1 | grep -v '^$'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
