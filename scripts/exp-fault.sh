#!/usr/bin/env bash
# Entering and leaving FAULT. Node 1 (150, MASTER by ~3.4 s) tracks a file with
# weight 0 (non-zero content = FAULT); node 2 (100). At t=6 s the file of node 1
# gets "1" (FAULT), at t=9 s "0" (recovers). v3, VRID 95, advert_int 1.
. "$(dirname "$0")/exp-common.sh"
D=$(exp_dir fault)
cat >"$D/fault.tmpl" <<'T'
global_defs { router_id ka@ID@ }
vrrp_track_file fault_file {
  file @TMP@/fault@ID@
}
vrrp_instance VI_95 {
  state BACKUP
  interface eth0
  virtual_router_id 95
  priority @PRIO@
  advert_int 1
  version 3
  track_file {
    fault_file weight 0
  }
  virtual_ipaddress {
    10.77.0.195/24
  }
}
T
KILL=0 HOOK='
  echo 0 >$LAB_TMP/fault1; echo 0 >$LAB_TMP/fault2
  sleep 6; echo 1 >$LAB_TMP/fault1; echo "$EPOCHREALTIME fault1=1"
  sleep 3; echo 0 >$LAB_TMP/fault1; echo "$EPOCHREALTIME fault1=0"
' "$REC" "$D/fault.tmpl" "$D/fault.pcap" 14 0
"$SUM" "$D/fault.pcap" | grep -v ARP >"$D/summary.txt"
