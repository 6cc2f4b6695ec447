#!/usr/bin/env bash
# Advert interval mismatch. Node 1 priority 150, node 2 priority 100.
# v2: node 1 advert_int 1, node 2 advert_int 2 (both start together; node 1 SIGTERM at 10 s).
# v3: (a) node 1 int 1 / node 2 int 2, (b) node 1 int 2 / node 2 int 1; node 1 is
#     crashed (SIGKILL, no priority-0 advert) at 7 s, so node 2's takeover time
#     shows which Master_Down_Interval it used (adopted interval or its own).
. "$(dirname "$0")/exp-common.sh"
D=$(exp_dir interval-mismatch)
tmpl "$D/v2-int1.tmpl" 2 88 1 10.77.0.188/24
tmpl "$D/v2-int2.tmpl" 2 88 2 10.77.0.188/24
tmpl "$D/v3-int1.tmpl" 3 89 1 10.77.0.189/24
tmpl "$D/v3-int2.tmpl" 3 89 2 10.77.0.189/24
TEMPLATE2="$D/v2-int2.tmpl" "$REC" "$D/v2-int1.tmpl" "$D/v2-1-vs-2.pcap" 10 3
TEMPLATE2="$D/v3-int2.tmpl" KILL_SIG=KILL "$REC" "$D/v3-int1.tmpl" "$D/v3a-master1-backup2-kill.pcap" 7 9
TEMPLATE2="$D/v3-int1.tmpl" KILL_SIG=KILL "$REC" "$D/v3-int2.tmpl" "$D/v3b-master2-backup1-kill.pcap" 9 9
for f in "$D"/*.pcap; do echo "== $f"; "$SUM" "$f" | grep -v ARP; done >"$D/summary.txt"
