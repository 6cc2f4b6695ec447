#!/usr/bin/env bash
# Record real keepalived in a two-namespace bridge lab.
#
# usage: record-keepalived-capture.sh TEMPLATE OUT.pcap [RUN_S=4] [AFTER_S=3]
#
#   TEMPLATE  keepalived.conf with @PRIO@, @ID@ (node number) and @TMP@ (a temp dir
#             removed at the end) placeholders,
#             interface eth0. Node 1 gets PRIO1 (150), node 2 PRIO2 (100).
#   OUT.pcap  capture of br0 for 'ip proto 112 or ip6 proto 112 or arp or icmp6';
#             the keepalived logs go to OUT.node1.log and OUT.node2.log
#             (each line prefixed with the wall clock, the pcap's clock).
#   RUN_S     seconds after both nodes started until node 1 gets SIGTERM
#   AFTER_S   seconds to keep capturing after that
#
# environment (all optional):
#   PRIO1, PRIO2      priorities (150, 100)
#   TEMPLATE2         a different template for node 2
#   START2_DELAY      seconds between starting node 1 and node 2 (0)
#   START_FIRST=2     start node 2 first (then START2_DELAY is node 1's delay)
#   KILL=0            do not signal node 1; just stop both at the end
#   KILL_SIG          the signal node 1 gets after RUN_S (TERM; KILL = crash,
#                     no priority-0 advert)
#   ONLY1=1           run keepalived on node 1 only (node 2's namespace exists)
#   NODES=3           also create node 3 (10.77.0.3, fd77::3, no keepalived)
#   HOOK              a command run (in the background) once both nodes started,
#                     with LAB_ID, LAB_BR, LAB_TMP (@TMP@ in templates), NS1, NS2, NS3
#                     (namespace names) exported;
#                     its output goes to OUT.hook.log
#
# Everything (namespaces, links, processes, temp dir) is removed on exit, even on
# failure or Ctrl-C. Requires root, keepalived, tcpdump, iproute2.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab-lib.sh
. "$here/lab-lib.sh"

if [ $# -lt 2 ]; then
    sed -n '2,30p' "$0" >&2
    exit 2
fi
tmpl=$1
out=$2
run_s=${3:-4}
after_s=${4:-3}
prio1=${PRIO1:-150}
prio2=${PRIO2:-100}
tmpl2=${TEMPLATE2:-$tmpl}
delay=${START2_DELAY:-0}
first=${START_FIRST:-1}
nodes=${NODES:-2}

for b in keepalived tcpdump ip; do
    command -v "$b" >/dev/null || { echo "SKIPPED: $b not found" >&2; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "SKIPPED: needs root" >&2; exit 0; }

trap lab_cleanup EXIT
trap 'exit 130' INT TERM

base=${out%.pcap}
log1="$base.node1.log"
log2="$base.node2.log"
: >"$log1"
: >"$log2"

lab_up "$nodes"
lab_render "$tmpl" "$prio1" 1 "$LAB_TMP/node1.conf"
lab_render "$tmpl2" "$prio2" 2 "$LAB_TMP/node2.conf"

lab_capture_start "$LAB_TMP/cap.pcap"
sleep 0.5
if [ "${ONLY1:-0}" = 1 ]; then
    lab_start_node 1 "$LAB_TMP/node1.conf" "$log1"
elif [ "$first" = 2 ]; then
    lab_start_node 2 "$LAB_TMP/node2.conf" "$log2"
    sleep "$delay"
    lab_start_node 1 "$LAB_TMP/node1.conf" "$log1"
else
    lab_start_node 1 "$LAB_TMP/node1.conf" "$log1"
    sleep "$delay"
    lab_start_node 2 "$LAB_TMP/node2.conf" "$log2"
fi
if [ -n "${HOOK:-}" ]; then
    export LAB_ID LAB_BR LAB_TMP NS1="$LAB_ID-n1" NS2="$LAB_ID-n2" NS3="$LAB_ID-n3"
    bash -c "$HOOK" >"$base.hook.log" 2>&1 &
    LAB_PIDS+=("$!")
fi
sleep "$run_s"
if [ "${KILL:-1}" = 1 ]; then
    lab_signal_node 1 "${KILL_SIG:-TERM}"
fi
sleep "$after_s"
lab_stop_node 1
lab_stop_node 2
sleep 0.2
lab_capture_stop
cp "$LAB_TMP/cap.pcap" "$out"
lab_log "saved $out, $log1, $log2"
