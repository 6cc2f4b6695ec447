#!/usr/bin/env bash
# CPU per advert of the VRRP daemon, vigil beside keepalived 2.2.7: a Master
# and a Backup (priorities 150 / 100) in two namespaces on a bridge, v3 IPv4,
# advert_int 0.01 s (100 adverts/s, so the figures are well above the noise),
# measured over RUN_S seconds once the Master is elected. CPU time is the sum
# of every thread's run time (/proc/PID/task/*/schedstat, nanoseconds).
#
# Usage: scripts/bench-run.sh [RUN_S=30]   (as root; builds vigil --release)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_S=${1:-30}
cargo build --release --quiet --bin vigil
VIGIL=$PWD/target/release/vigil
. scripts/lab-lib.sh
trap lab_cleanup EXIT
lab_up 2

conf() { # conf PRIO FILE
    cat >"$2" <<CONF
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $1
    advert_int 0.01
    version 3
    virtual_ipaddress {
        10.77.0.100/24
    }
}
CONF
}

cpu_ns() { # cpu_ns PID: run time of all its threads
    local t total=0
    for t in /proc/"$1"/task/*/schedstat; do
        total=$((total + $(cut -d' ' -f1 "$t")))
    done
    echo "$total"
}

measure() { # measure NAME MASTER_PID BACKUP_PID
    local m0 b0 m1 b1
    sleep 2 # elected, GARPs sent
    m0=$(cpu_ns "$2"); b0=$(cpu_ns "$3")
    sleep "$RUN_S"
    m1=$(cpu_ns "$2"); b1=$(cpu_ns "$3")
    local adverts=$((RUN_S * 100))
    awk -v n="$1" -v m=$((m1 - m0)) -v b=$((b1 - b0)) -v a="$adverts" -v s="$RUN_S" 'BEGIN {
        printf "%-10s master %6.1f µs/advert   backup %6.1f µs/advert   (%d adverts in %d s)\n",
            n, m / a / 1000, b / a / 1000, a, s }'
}

for i in 1 2; do conf $((200 - 50 * i)) "$LAB_TMP/node$i.conf"; done

ip netns exec "$(ns 1)" "$VIGIL" run -f "$LAB_TMP/node1.conf" --control-socket "$LAB_TMP/node1.sock" 2>"$LAB_TMP/vigil1.log" &
V1=$!; LAB_PIDS+=("$V1")
ip netns exec "$(ns 2)" "$VIGIL" run -f "$LAB_TMP/node2.conf" --control-socket "$LAB_TMP/node2.sock" 2>"$LAB_TMP/vigil2.log" &
V2=$!; LAB_PIDS+=("$V2")
measure vigil "$V1" "$V2"
grep -q "Entering MASTER STATE" "$LAB_TMP/vigil1.log" || { echo "vigil node 1 not Master" >&2; exit 1; }
kill -TERM "$V1" "$V2"; wait "$V1" "$V2" || true

lab_start_node 1 "$LAB_TMP/node1.conf" "$LAB_TMP/ka1.log"
lab_start_node 2 "$LAB_TMP/node2.conf" "$LAB_TMP/ka2.log"
sleep 1
measure keepalived "$(cat "$LAB_TMP/ka1-vrrp.pid")" "$(cat "$LAB_TMP/ka2-vrrp.pid")"
grep -q "Entering MASTER STATE" "$LAB_TMP/ka1.log" || { echo "keepalived node 1 not Master" >&2; exit 1; }
lab_stop_node 1; lab_stop_node 2
