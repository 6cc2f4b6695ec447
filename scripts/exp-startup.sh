#!/usr/bin/env bash
# Startup timing: how long a BACKUP-configured node (priority 150) waits before
# becoming MASTER (a) alone, v2 and v3, advert_int 2 (so that v2's and v3's skew
# formulas differ), and (b) when a lower-priority peer (100) is already MASTER.
. "$(dirname "$0")/exp-common.sh"
D=$(exp_dir startup)
tmpl "$D/v2-int2.tmpl" 2 81 2 10.77.0.181/24
tmpl "$D/v3-int2.tmpl" 3 82 2 10.77.0.182/24
tmpl "$D/v3-int1.tmpl" 3 83 1 10.77.0.183/24
tmpl "$D/v2-int1.tmpl" 2 84 1 10.77.0.184/24
ONLY1=1 KILL=0 "$REC" "$D/v2-int2.tmpl" "$D/alone-v2-int2.pcap" 8 0
ONLY1=1 KILL=0 "$REC" "$D/v3-int2.tmpl" "$D/alone-v3-int2.pcap" 8 0
# node 2 (prio 100) first; node 1 (prio 150) 5 s later, when node 2 is MASTER
START_FIRST=2 START2_DELAY=5 KILL=0 "$REC" "$D/v3-int1.tmpl" "$D/peer-master-v3-int1.pcap" 5 0
START_FIRST=2 START2_DELAY=5 KILL=0 "$REC" "$D/v2-int1.tmpl" "$D/peer-master-v2-int1.pcap" 5 0
# v3, advert_int 0.5: both nodes together, node 1 SIGTERM at 3 s
tmpl "$D/v3-int05.tmpl" 3 80 0.5 10.77.0.180/24
"$REC" "$D/v3-int05.tmpl" "$D/both-v3-int05.pcap" 3 1.5
for f in "$D"/*.pcap; do echo "== $f"; "$SUM" "$f"; done >"$D/summary.txt"
