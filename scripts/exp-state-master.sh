#!/usr/bin/env bash
# What a node configured `state MASTER` (priority 150, not 255) does at start:
# (a) alone, (b) alone with nopreempt, (c) while a priority-100 peer is already
# MASTER, (d) with priority 100 while a priority-150 peer is already MASTER.
. "$(dirname "$0")/exp-common.sh"
D=$(exp_dir state-master)
STATE=MASTER tmpl "$D/master.tmpl" 3 85 1 10.77.0.185/24
STATE=MASTER EXTRA="  nopreempt" tmpl "$D/master-nopreempt.tmpl" 3 85 1 10.77.0.185/24
tmpl "$D/backup.tmpl" 3 85 1 10.77.0.185/24
ONLY1=1 KILL=0 "$REC" "$D/master.tmpl" "$D/a-alone.pcap" 6 0
ONLY1=1 KILL=0 "$REC" "$D/master-nopreempt.tmpl" "$D/b-alone-nopreempt.pcap" 6 0
# (c) node 2 (BACKUP, 100) first; node 1 (MASTER, 150) 5 s later
TEMPLATE2="$D/backup.tmpl" START_FIRST=2 START2_DELAY=5 KILL=0 \
    "$REC" "$D/master.tmpl" "$D/c-peer-master-lower.pcap" 6 0
# (d) node 2 (BACKUP, 150) first; node 1 (MASTER, 100) 5 s later
PRIO1=100 PRIO2=150 TEMPLATE2="$D/backup.tmpl" START_FIRST=2 START2_DELAY=5 KILL=0 \
    "$REC" "$D/master.tmpl" "$D/d-peer-master-higher.pcap" 6 0
for f in "$D"/*.pcap; do echo "== $f"; "$SUM" "$f"; done >"$D/summary.txt"
# (e) priority 255 (address owner) with state MASTER, (f) with state BACKUP; alone
PRIO1=255 ONLY1=1 KILL=0 "$REC" "$D/master.tmpl" "$D/e-owner-state-master.pcap" 3 0
PRIO1=255 ONLY1=1 KILL=0 "$REC" "$D/backup.tmpl" "$D/f-owner-state-backup.pcap" 5 0
for f in "$D"/*.pcap; do echo "== $f"; "$SUM" "$f"; done >"$D/summary.txt"
