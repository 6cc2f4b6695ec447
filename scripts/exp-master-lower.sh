#!/usr/bin/env bash
# A MASTER (priority 100) hearing a lower-priority (50) advert, injected from
# node 3 (10.77.0.3) in the middle of an advert interval: does it advertise at
# once? Then an equal-priority (100) advert from 10.77.0.3 (a higher address
# than the master's 10.77.0.1).
. "$(dirname "$0")/exp-common.sh"
D=$(exp_dir master-lower)
tmpl "$D/v3.tmpl" 3 86 1 10.77.0.186/24
INJ="$EXP_HERE/vrrp-inject.py"
PRIO1=100 ONLY1=1 NODES=3 KILL=0 HOOK="
  sleep 5.3; ip netns exec \$NS3 $INJ --vrid 86 --prio 50 --addr 10.77.0.186 --note lower-1
  sleep 1.45; ip netns exec \$NS3 $INJ --vrid 86 --prio 50 --addr 10.77.0.186 --note lower-2
  sleep 1.3; ip netns exec \$NS3 $INJ --vrid 86 --prio 100 --addr 10.77.0.186 --note equal-from-higher-ip
" "$REC" "$D/v3.tmpl" "$D/master-hears-lower.pcap" 10 0
"$SUM" "$D/master-hears-lower.pcap" >"$D/summary.txt"
