#!/usr/bin/env bash
# Runs every cargo-fuzz target for MINUTES each (default 10) on the stable
# toolchain, starting from the kept corpus (copied to a scratch directory, so
# the repository's corpus only changes by a deliberate merge). Exit 1 when a
# target crashes; its input is left in fuzz/artifacts/TARGET/.
#
#   scripts/fuzz.sh [MINUTES] [TARGET...]     targets: decode config scenario
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
minutes=${1:-10}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode config scenario)
export RUSTC_BOOTSTRAP=1 PATH="$HOME/.cargo/bin:$PATH"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
declare -A max_len=([decode]=1200 [config]=4096 [scenario]=8192)
status=0
for t in "${targets[@]}"; do
    scratch=$(mktemp -d)
    cp "corpus/$t"/* "$scratch"/
    echo "== $t: $minutes min from $(ls "$scratch" | wc -l) inputs"
    if cargo fuzz run "$t" "$scratch" -- -max_total_time=$((minutes * 60)) \
        -max_len="${max_len[$t]}" -print_final_stats=1 2>"$scratch.log"; then
        grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$scratch.log" || true
        echo "$t: no crash; corpus grew to $(ls "$scratch" | wc -l) inputs in $scratch"
    else
        tail -30 "$scratch.log"
        echo "$t: CRASH (input in fuzz/artifacts/$t/)"
        status=1
    fi
done
exit $status
