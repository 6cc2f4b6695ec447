#!/usr/bin/env bash
# vigil's IPVS programming beside ipvsadm's, in the same boot of the same
# kernel (this host's if it has IPVS, else the VM of scripts/vm.sh, where
# absolute times measure the emulator: compare the ratios). vigil: the
# director of SERVICES virtual servers × DESTS real servers fills an empty
# table through its generic netlink driver, then a reload changes one
# weight; ipvsadm: `ipvsadm -R` of the same ops, then one `ipvsadm -e`.
# Prints every round, the medians, their ratios, and the netlink round
# trips per op (netns-harness/examples/bench_ipvs.rs).
#
# Usage: scripts/bench-ipvs.sh [SERVICES=1000] [DESTS=10] [ROUNDS=5]   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p vigil-netns --example bench_ipvs
exec scripts/vm.sh target/release/examples/bench_ipvs "${1:-1000}" "${2:-10}" "${3:-5}"
