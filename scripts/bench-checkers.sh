#!/usr/bin/env bash
# Are the Master's adverts on time while it runs 1,000 health checks? Two
# vigils in namespaces on a bridge (VRRP v3, advert_int 1 s, priorities
# 150 / 100); the Master also directs 100 virtual servers × 10 real servers,
# each with an HTTP_GET every second (delay_loop 1, connect_timeout 3)
# against a real server that accepts and never answers (node 3,
# netns-harness/examples/stall_server.rs). tcpdump on the bridge records
# the Master's adverts for RUN_S seconds; the figure is the error of each
# advert interval, |Δt − 1 s|, at p50 / p99 / max, and the CPU the Master's
# vigil used over the same window, by thread.
#
# Usage: scripts/bench-checkers.sh [RUN_S=60] [CHECKS=1000]   (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_S=${1:-60}
CHECKS=${2:-1000}
PER_VS=10
cargo build --profile dist --quiet --bin vigil
cargo build --release --quiet -p vigil-netns --example stall_server
VIGIL=$PWD/target/dist/vigil
STALL=$PWD/target/release/examples/stall_server
. scripts/lab-lib.sh
trap lab_cleanup EXIT
lab_up 3

conf() { # conf PRIO CHECKS FILE
    {
        cat <<CONF
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $1
    advert_int 1
    version 3
    virtual_ipaddress {
        10.77.0.100/24
    }
}
CONF
        local v r
        for ((v = 0; v < $2 / PER_VS; v++)); do
            printf 'virtual_server 10.77.0.100 %d {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n' $((8000 + v))
            for ((r = 0; r < PER_VS; r++)); do
                printf '    real_server 10.77.0.3 %d {\n        HTTP_GET {\n            url {\n                path /\n                status_code 200\n            }\n            connect_timeout 3\n        }\n    }\n' $((10000 + v * PER_VS + r))
            done
            printf '}\n'
        done
    } >"$3"
}

thread_ns() { # thread_ns PID: "tid comm run-ns" for each thread
    local t
    for t in /proc/"$1"/task/*; do
        printf '%s %s %s\n' "${t##*/}" "$(cat "$t/comm")" "$(cut -d' ' -f1 "$t/schedstat")"
    done
}

conf 150 "$CHECKS" "$LAB_TMP/node1.conf"
conf 100 0 "$LAB_TMP/node2.conf"
ip netns exec "$(ns 3)" "$STALL" 10.77.0.3 10000 "$CHECKS" 2>"$LAB_TMP/stall.log" &
LAB_PIDS+=("$!")
ip netns exec "$(ns 1)" "$VIGIL" run -f "$LAB_TMP/node1.conf" \
    --control-socket "$LAB_TMP/node1.sock" 2>"$LAB_TMP/vigil1.log" &
V1=$!; LAB_PIDS+=("$V1")
ip netns exec "$(ns 2)" "$VIGIL" run -f "$LAB_TMP/node2.conf" \
    --control-socket "$LAB_TMP/node2.sock" 2>"$LAB_TMP/vigil2.log" &
V2=$!; LAB_PIDS+=("$V2")
sleep 5 # elected (3.4 s), GARPs sent, every check running
grep -q "Entering MASTER STATE" "$LAB_TMP/vigil1.log" || { echo "node 1 is not Master" >&2; exit 1; }
LAB_FILTER="ip proto 112 and src 10.77.0.1"
lab_capture_start "$LAB_TMP/adverts.pcap"
before=$(thread_ns "$V1")
sleep "$RUN_S"
after=$(thread_ns "$V1")
lab_capture_stop 2>/dev/null
grep -q "Entering MASTER STATE" "$LAB_TMP/vigil2.log" && { echo "node 2 took over: adverts were late" >&2; }
checks=$("$VIGIL" status --json --socket "$LAB_TMP/node1.sock" |
    grep -o '"kind":"HTTP_GET"' | wc -l || true)
failed=$(grep -c "HTTP_GET on service .* failed" "$LAB_TMP/vigil1.log" || true)

echo "vigil Master: $checks HTTP_GET checks ($failed verdicts 'failed' logged), advert_int 1 s, ${RUN_S} s"
tcpdump -r "$LAB_TMP/adverts.pcap" -tt -n 2>/dev/null | awk '{print $1}' | awk '
    NR > 1 { d = $1 - prev; e = d - 1; if (e < 0) e = -e; print e * 1000 }
    { prev = $1 }' | sort -n | awk '
    { v[NR] = $1 }
    END {
        if (NR == 0) { print "no advert intervals captured"; exit 1 }
        p = int(0.99 * NR + 0.999); if (p < 1) p = 1
        printf "advert interval error: %d intervals, p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
            NR, v[int((NR + 1) / 2)], v[p], v[NR]
    }'
join <(sort <<<"$before") <(sort <<<"$after") | awk -v s="$RUN_S" '
    { c = ($5 - $3) / 1e9 / s * 100; cpu[$2] += c; total += c }
    END {
        printf "vigil CPU over the run: %.1f%% of one core (", total
        sep = ""; for (t in cpu) { printf "%s%s %.1f%%", sep, t, cpu[t]; sep = ", " }
        print ")"
    }'
