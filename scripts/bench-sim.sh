#!/usr/bin/env bash
# Simulated seconds per wall-clock second of `vigil sim` (1 ms tick):
#   (a) 3 nodes, 1 instance, advert_int 1 s
#   (b) 3 nodes x 50 instances, advert_int 0.1 s
# Usage: scripts/bench-sim.sh [SIMULATED_SECONDS]   (default 600 for a, 60 for b)
set -euo pipefail
cd "$(dirname "$0")/.."
secs_a=${1:-600}
secs_b=$(( secs_a / 10 ))
cargo build --release -q
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

scenario() { # name seconds instances interval
    local name=$1 secs=$2 n=$3 int=$4
    {
        echo "name = \"$name\""
        echo "duration = \"${secs}s\""
        for node in 1 2 3; do
            echo "[[node]]"
            echo "name = \"lb$node\""
            echo "addr = \"10.0.0.$node/24\""
            echo "config = '''"
            for i in $(seq 1 "$n"); do
                echo "vrrp_instance VI_$i {"
                echo "  interface eth0"
                echo "  virtual_router_id $i"
                echo "  priority $(( 100 + node * 10 ))"
                echo "  advert_int $int"
                echo "  version 3"
                echo "  virtual_ipaddress {"
                echo "    10.1.$(( i / 250 )).$(( i % 250 + 1 ))/16"
                echo "  }"
                echo "}"
            done
            echo "'''"
        done
    } > "$tmp/$name.toml"
}

measure() { # name seconds
    local start end
    start=$(date +%s.%N)
    ./target/release/vigil sim "$tmp/$1.toml" > "$tmp/$1.out"
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" -v sim="$2" -v n="$1" \
        'BEGIN { w = e - s; printf "%-28s %6ds simulated in %7.2fs wall: %7.1fx real time\n", n, sim, w, sim / w }'
}

scenario a-3nodes-1inst-1s "$secs_a" 1 1
scenario b-3nodes-50inst-100ms "$secs_b" 50 0.1
measure a-3nodes-1inst-1s "$secs_a"
measure b-3nodes-50inst-100ms "$secs_b"
