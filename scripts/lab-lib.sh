# shellcheck shell=bash
# Two (or three) network namespaces on a bridge that lives in its own namespace,
# for recording real keepalived. Sourced by record-keepalived-capture.sh and the
# experiment scripts in scripts/exp-*.sh. Nothing touches the host's interfaces:
# every link, address and process lives in namespaces named vgcap-<pid>-*.
#
#   vgcap-<pid>-br : bridge br0 (no IP, IPv6 disabled), ports p1 p2 [p3]
#   vgcap-<pid>-n1 : eth0 10.77.0.1/24 fd77::1/64   (keepalived node 1)
#   vgcap-<pid>-n2 : eth0 10.77.0.2/24 fd77::2/64   (keepalived node 2)
#   vgcap-<pid>-n3 : eth0 10.77.0.3/24 fd77::3/64   (optional: packet injector)
#
# DAD is off and router solicitations are off on the eth0s, so link-local
# addresses are usable at once and the capture holds only what keepalived sends
# (plus the kernel's MLD reports when keepalived joins ff02::12).

LAB_ID="vgcap-$$"
LAB_BR="$LAB_ID-br"
LAB_TMP=""
LAB_PIDS=()          # keepalived / tcpdump pids we started (killed in cleanup)
LAB_NODES=()         # node numbers that exist
LAB_TCPDUMP_PID=""
LAB_FILTER='ip proto 112 or ip6 proto 112 or arp or icmp6'

ns() { echo "$LAB_ID-n$1"; }

lab_log() { printf '[lab %s] %s\n' "$EPOCHREALTIME" "$*" >&2; }

lab_cleanup() {
    local rc=$?
    set +e
    # keepalived: the pid we started is the parent; its VRRP child is in the pid file.
    local p
    for p in "${LAB_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    if [ -n "$LAB_TMP" ] && [ -d "$LAB_TMP" ]; then
        for p in "$LAB_TMP"/*.pid; do
            [ -e "$p" ] || continue
            kill -TERM "$(cat "$p")" 2>/dev/null
        done
    fi
    # keepalived needs about 1 s to stop cleanly; give it 2 s before SIGKILL
    local k alive
    for k in $(seq 1 20); do
        alive=0
        for p in "${LAB_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for p in "${LAB_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    if [ -n "$LAB_TMP" ] && [ -d "$LAB_TMP" ]; then
        for p in "$LAB_TMP"/*.pid; do
            [ -e "$p" ] || continue
            kill -KILL "$(cat "$p")" 2>/dev/null
        done
    fi
    # any process still inside our namespaces (only ones we started can be there)
    local n
    for n in $(ip netns list | awk '{print $1}' | grep "^$LAB_ID-"); do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$n" 2>/dev/null
    done
    wait 2>/dev/null
    [ -n "$LAB_TMP" ] && rm -rf "$LAB_TMP"
    return $rc
}

# lab_up [NNODES=2]
lab_up() {
    local nn=${1:-2} i
    LAB_TMP=$(mktemp -d /tmp/vgcap.XXXXXX)
    ip netns add "$LAB_BR"
    ip netns exec "$LAB_BR" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$LAB_BR" link add br0 type bridge
    # no IGMP/MLD snooping surprises: flood multicast to every port
    ip -n "$LAB_BR" link set br0 type bridge mcast_snooping 0 2>/dev/null || true
    ip -n "$LAB_BR" link set lo up
    ip -n "$LAB_BR" link set br0 up
    for i in $(seq 1 "$nn"); do
        ip netns add "$(ns "$i")"
        ip -n "$(ns "$i")" link set lo up
        ip -n "$LAB_BR" link add "p$i" type veth peer name eth0 netns "$(ns "$i")"
        ip netns exec "$(ns "$i")" sysctl -qw \
            net.ipv6.conf.eth0.accept_dad=0 \
            net.ipv6.conf.eth0.router_solicitations=0
        ip -n "$(ns "$i")" addr add "10.77.0.$i/24" dev eth0
        ip -n "$(ns "$i")" addr add "fd77::$i/64" dev eth0 nodad
        ip -n "$LAB_BR" link set "p$i" master br0 up
        ip -n "$(ns "$i")" link set eth0 up
        LAB_NODES+=("$i")
    done
    # wait until no address is tentative
    for i in $(seq 1 "$nn"); do
        local k
        for k in $(seq 1 50); do
            ip -n "$(ns "$i")" -6 addr show dev eth0 tentative | grep -q inet6 || break
            sleep 0.1
        done
    done
    lab_log "lab up: $LAB_ID ($nn nodes), tmp $LAB_TMP"
}

# lab_render TEMPLATE PRIO ID OUT  -- substitutes @PRIO@, @ID@ and @TMP@ (the lab temp dir)
lab_render() {
    sed -e "s/@PRIO@/$2/g" -e "s/@ID@/$3/g" -e "s|@TMP@|$LAB_TMP|g" "$1" >"$4"
}

# lab_capture_start PCAP
lab_capture_start() {
    local out=$1 k
    ip netns exec "$LAB_BR" tcpdump -Z root -i br0 -U -n -s 0 -w "$out" "$LAB_FILTER" \
        2>"$LAB_TMP/tcpdump.err" &
    LAB_TCPDUMP_PID=$!
    LAB_PIDS+=("$LAB_TCPDUMP_PID")
    for k in $(seq 1 50); do
        grep -q 'listening on' "$LAB_TMP/tcpdump.err" 2>/dev/null && break
        sleep 0.1
    done
    lab_log "tcpdump started (pid $LAB_TCPDUMP_PID) -> $out"
}

lab_capture_stop() {
    [ -n "$LAB_TCPDUMP_PID" ] || return 0
    kill -INT "$LAB_TCPDUMP_PID" 2>/dev/null || true
    wait "$LAB_TCPDUMP_PID" 2>/dev/null || true
    cat "$LAB_TMP/tcpdump.err" >&2
    LAB_TCPDUMP_PID=""
}

# Prefix every line with the wall clock (same clock as the pcap timestamps).
_lab_stamp() { local l; while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }

# lab_start_node N CONF LOGFILE  -- starts keepalived in node N's namespace
# (sets LAB_KA_PID[N])
declare -A LAB_KA_PID=()
declare -A LAB_KA_LOG=()
lab_start_node() {
    local n=$1 conf=$2 log=$3
    printf '%s [lab] starting keepalived node %s with %s\n' "$EPOCHREALTIME" "$n" "$conf" >>"$log"
    ip netns exec "$(ns "$n")" keepalived -n -l -D -P \
        -f "$conf" -i "node$n" \
        -p "$LAB_TMP/ka$n.pid" -r "$LAB_TMP/ka$n-vrrp.pid" -c "$LAB_TMP/ka$n-chk.pid" \
        > >(_lab_stamp >>"$log") 2>&1 &
    LAB_KA_PID[$n]=$!
    LAB_KA_LOG[$n]=$log
    LAB_PIDS+=("$!")
    lab_log "keepalived node $n started (pid $!)"
}

# lab_signal_node N SIGNAL
lab_signal_node() {
    local n=$1 sig=$2
    lab_log "sending SIG$sig to node $n (pid ${LAB_KA_PID[$n]})"
    printf '%s [lab] sending SIG%s to node %s\n' "$EPOCHREALTIME" "$sig" "$n" >>"${LAB_KA_LOG[$n]}"
    if [ "$sig" = KILL ] || [ "$sig" = STOP ]; then
        # a crash / freeze: the parent and its VRRP child at once, so that
        # nothing (no priority-0 advert, no respawn) happens
        kill "-$sig" "${LAB_KA_PID[$n]}" "$(cat "$LAB_TMP/ka$n-vrrp.pid")" 2>/dev/null || true
    else
        kill "-$sig" "${LAB_KA_PID[$n]}" 2>/dev/null || true
    fi
}

# lab_stop_node N  -- SIGTERM and wait for exit
lab_stop_node() {
    local n=$1 p=${LAB_KA_PID[$1]:-} k
    [ -n "$p" ] || return 0
    if kill -0 "$p" 2>/dev/null; then
        printf '%s [lab] sending SIGTERM to node %s (end of run)\n' "$EPOCHREALTIME" "$n" >>"${LAB_KA_LOG[$n]}"
    fi
    kill -TERM "$p" 2>/dev/null || true
    for k in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    unset "LAB_KA_PID[$n]"
}
