#!/usr/bin/env bash
# Failover on the wire, and the cost of many instances, vigil beside keepalived 2.2.7.
#
# usage: scripts/bench-failover.sh [failover|cpu|all]   (as root; builds vigil with the dist profile operators install)
#
# failover: six labs side by side (vigil/vigil, keepalived/keepalived, vigil with
#   keepalived; each at advert_int 1 s and 0.1 s, VRRPv3 IPv4, both nodes priority 100
#   so a restarted node stays Backup). Each lab stops the Master TRIALS times with
#   SIGKILL, then TRIALS times with SIGTERM; the Backup takes over, the old Master is
#   started again as Backup, and the roles swap (the mixed lab thus measures
#   vigil→keepalived and keepalived→vigil, TRIALS each). tcpdump -s 128 on the bridge;
#   scripts/failover-gaps.py reads the gaps off the captures.
# cpu: N instances at advert_int INT (200 at 1 s, then 50 at 0.05 s), a node at
#   priority 150 and one at 100, vigil's pair beside keepalived's (keepalived without
#   -D); CPU % of a core from /proc/PID/stat utime+stime over WINDOW_S once settled
#   (elected, both GARP rounds sent), and VmRSS at the end, of vigil and of
#   keepalived's VRRP process.
#
# environment: TRIALS (20), WINDOW_S (20), OUT (a temp dir; kept, printed at the end)
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD/scripts
VIGIL=${VIGIL:-$PWD/target/dist/vigil}
TRIALS=${TRIALS:-20}
WINDOW_S=${WINDOW_S:-20}

# --- one lab, run as its own process (lab-lib names its namespaces by $$) ---

# conf N INT PRIO: N instances (VRID i, VIP 10.77.1.i or the failover VIP 10.77.0.100)
conf() {
    local i vip
    for i in $(seq 1 "$1"); do
        if [ "$1" = 1 ]; then vip=10.77.0.100/24; else vip=10.77.$((1 + i / 250)).$((i % 250 + 1))/32; fi
        printf 'vrrp_instance VI_%s {\n state BACKUP\n interface eth0\n virtual_router_id %s\n priority %s\n advert_int %s\n version 3\n virtual_ipaddress {\n  %s\n }\n}\n' \
            "$i" "$i" "$3" "$2" "$vip"
    done
}

# start IMPL NODE CONF [KA_FLAGS]: sets PID[NODE] (vigil, or keepalived's parent)
declare -A PID=() IMPL=()
start() {
    local impl=$1 n=$2
    IMPL[$n]=$impl
    rm -f "$LAB_TMP/ka$n-vrrp.pid"
    if [ "$impl" = vigil ]; then
        ip netns exec "$(ns "$n")" "$VIGIL" run -f "$3" --control-socket "$LAB_TMP/n$n.sock" 2>>"$LAB_TMP/n$n.log" &
    else
        # shellcheck disable=SC2086
        ip netns exec "$(ns "$n")" keepalived -n -l -P ${4:-} -f "$3" -p "$LAB_TMP/ka$n.pid" \
            -r "$LAB_TMP/ka$n-vrrp.pid" >>"$LAB_TMP/n$n.log" 2>&1 &
    fi
    PID[$n]=$!
    LAB_PIDS+=("$!")
}

# The process doing node N's VRRP work (keepalived: its VRRP child).
vrrp_pid() {
    if [ "${IMPL[$1]}" = vigil ]; then echo "${PID[$1]}"; return; fi
    local k
    for k in $(seq 1 100); do [ -s "$LAB_TMP/ka$1-vrrp.pid" ] && break; sleep 0.05; done
    cat "$LAB_TMP/ka$1-vrrp.pid"
}

holds() { ip -n "$(ns "$1")" -4 addr show dev eth0 2>/dev/null | grep -q ' 10.77.0.100/'; }

wait_holds() { # wait_holds NODE SECONDS
    local k
    for k in $(seq 1 $(($2 * 100))); do holds "$1" && return 0; sleep 0.01; done
    echo "node $1 never took the VIP" >&2
    return 1
}

stop() { # stop NODE SIG: SIGKILL hits keepalived's VRRP child too, as a crash would
    local n=$1
    if [ "$2" = KILL ] && [ "${IMPL[$n]}" = keepalived ]; then kill -KILL "$(vrrp_pid "$n")"; fi
    kill "-$2" "${PID[$n]}"
    wait "${PID[$n]}" 2>/dev/null || true
}

# lab_failover IMPL1 IMPL2 INT LABEL
lab_failover() {
    local int=$3 label=$4 m=1 b=2 sig t x n settle
    lab_up 2
    echo "$1 $2 $int 10.77.0.100" >"$OUT/$label.meta"
    conf 1 "$int" 100 >"$LAB_TMP/c.conf"
    ip netns exec "$LAB_BR" tcpdump -Z root -i br0 -U -n -s 128 -w "$OUT/$label.pcap" \
        "$LAB_FILTER" 2>"$LAB_TMP/tcpdump.err" &
    LAB_PIDS+=("$!")
    sleep 0.5
    start "$1" 1 "$LAB_TMP/c.conf"
    wait_holds 1 10
    start "$2" 2 "$LAB_TMP/c.conf"
    # the restarted node must be up and hearing adverts before the next stop
    settle=$(awk -v i="$int" 'BEGIN { print 1 + 2 * i }')
    sleep "$settle"
    n=$TRIALS
    if [ "$1" != "$2" ]; then n=$((2 * TRIALS)); fi
    for sig in KILL TERM; do
        for t in $(seq 1 "$n"); do
            stop "$m" "$sig"
            wait_holds "$b" 10
            ip -n "$(ns "$m")" addr del 10.77.0.100/24 dev eth0 2>/dev/null || true
            start "${IMPL[$m]}" "$m" "$LAB_TMP/c.conf"
            sleep "$settle"
            x=$m; m=$b; b=$x
        done
    done
    sleep 0.3
}

# cpu_ticks PID: utime + stime of the whole process (clock ticks)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# run_ns PID: run time of all its threads (ns), the finer clock
run_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ t += $1 } END { print t }'; }
# kB FIELD PID: a field of /proc/PID/status (VmRSS, RssAnon)
kB() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$2/status"; }

# lab_cpu IMPL N INT LABEL: prints "LABEL held/N cpu%1 cpu%2 runms1 runms2 rss1 anon1
# rss2 anon2 parent_rss1" (node 1 the Masters; parent: keepalived's main process)
lab_cpu() {
    local impl=$1 nn=$2 int=$3 n p settle held hz
    local -A t0=() t1=() r0=() r1=()
    lab_up 2
    conf "$nn" "$int" 150 >"$LAB_TMP/m.conf"
    conf "$nn" "$int" 100 >"$LAB_TMP/b.conf"
    start "$impl" 1 "$LAB_TMP/m.conf"
    start "$impl" 2 "$LAB_TMP/b.conf"
    # elected after 3.6 intervals, second GARP round 5 s later
    settle=$(awk -v i="$int" 'BEGIN { print 3.7 * i + 6 }')
    sleep "$settle"
    for n in 1 2; do p=$(vrrp_pid "$n"); t0[$n]=$(cpu_ticks "$p"); r0[$n]=$(run_ns "$p"); done
    sleep "$WINDOW_S"
    for n in 1 2; do p=$(vrrp_pid "$n"); t1[$n]=$(cpu_ticks "$p"); r1[$n]=$(run_ns "$p"); done
    held=$(ip -n "$(ns 1)" -4 addr show dev eth0 2>/dev/null | grep -c ' 10\.77\.[1-9]\.' || true)
    hz=$(getconf CLK_TCK)
    printf '%s %s/%s' "$4" "$held" "$nn"
    for n in 1 2; do
        awk -v d=$((t1[$n] - t0[$n])) -v h="$hz" -v w="$WINDOW_S" 'BEGIN { printf " %.2f", 100 * d / h / w }'
    done
    for n in 1 2; do
        awk -v d=$((r1[$n] - r0[$n])) 'BEGIN { printf " %.0f", d / 1e6 }'
    done
    for n in 1 2; do printf ' %s %s' "$(kB VmRSS "$(vrrp_pid "$n")")" "$(kB RssAnon "$(vrrp_pid "$n")")"; done
    if [ "$impl" = keepalived ]; then printf ' %s\n' "$(kB VmRSS "${PID[1]}")"; else printf ' -\n'; fi
}

if [ "${1:-}" = lab ]; then
    shift
    # shellcheck source=lab-lib.sh
    . "$here/lab-lib.sh"
    trap lab_cleanup EXIT
    trap 'exit 130' INT TERM
    "$@"
    exit 0
fi

# --- the benchmark: labs side by side, one process each ---

[ "$(id -u)" = 0 ] || { echo "SKIPPED: needs root" >&2; exit 0; }
for b in keepalived tcpdump ip python3; do
    command -v "$b" >/dev/null || { echo "SKIPPED: $b not found" >&2; exit 0; }
done
[ -n "${VIGIL_NO_BUILD:-}" ] || cargo build --profile dist --quiet --bin vigil
OUT=${OUT:-$(mktemp -d /tmp/bench-failover.XXXXXX)}
export OUT VIGIL TRIALS WINDOW_S
what=${1:-all}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), TRIALS=$TRIALS, WINDOW_S=$WINDOW_S, OUT=$OUT"

if [ "$what" != cpu ]; then
    pids=()
    for int in 1 0.1; do
        for pair in "vigil vigil" "keepalived keepalived" "vigil keepalived"; do
            set -- $pair
            "$0" lab lab_failover "$1" "$2" "$int" "$1-$2-$int" 2>>"$OUT/labs.err" &
            pids+=("$!")
            sleep 0.5 # concurrent `ip netns add` can trip over each other
        done
    done
    for p in "${pids[@]}"; do wait "$p" || { echo "a lab failed: $OUT/labs.err" >&2; exit 1; }; done
    python3 "$here/failover-gaps.py" "$OUT"
fi

if [ "$what" != failover ]; then
    echo
    echo "| instances | advert_int | daemon | Masters held | CPU % Master / Backup (stat) | run time over the window, Master / Backup | RSS (anonymous) Master | RSS (anonymous) Backup | keepalived's parent RSS |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for run in "200 1" "50 0.05"; do
        set -- $run
        "$0" lab lab_cpu vigil "$1" "$2" "vigil" >"$OUT/cpu-vigil-$1.txt" 2>>"$OUT/labs.err" &
        v=$!
        sleep 0.5
        "$0" lab lab_cpu keepalived "$1" "$2" "keepalived" >"$OUT/cpu-ka-$1.txt" 2>>"$OUT/labs.err" &
        k=$!
        wait "$v" "$k"
        cat "$OUT/cpu-vigil-$1.txt" "$OUT/cpu-ka-$1.txt" | while read -r who held mc bc mr br m1 a1 m2 a2 pr; do
            echo "| $1 | $2 s | $who | $held | $mc / $bc | $mr / $br ms | $m1 kB ($a1) | $m2 kB ($a2) | $pr kB |"
        done
    done
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
