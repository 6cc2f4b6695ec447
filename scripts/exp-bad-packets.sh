#!/usr/bin/env bash
# Hand-made bad adverts, injected from node 3 (10.77.0.3 / its link-local) into a
# node-1 keepalived (priority 100, alone, MASTER for every instance by t=3.7 s):
#   VI_91 v3 IPv4 multicast, VIP 10.77.0.191
#   VI_92 v2 IPv4 multicast, auth PASS "s3cret", VIP 10.77.0.192
#   VI_93 v3 IPv6 multicast, VIPs fe80::93, fd77::193
#   VI_94 v3 IPv4 unicast, unicast_src_ip 10.77.0.1, unicast_peer 10.77.0.3, VIP 10.77.0.194
# One packet every 0.5 s from t=5 s, cycling over the instances so that each
# instance gets one at most every ~1.5 s (see bad-packets-seq.sh for the list).
. "$(dirname "$0")/exp-common.sh"
D=$(exp_dir bad-packets)
cat >"$D/bad.tmpl" <<'T'
global_defs { router_id ka@ID@ }
vrrp_instance VI_91 {
  state BACKUP
  interface eth0
  virtual_router_id 91
  priority @PRIO@
  advert_int 1
  version 3
  virtual_ipaddress {
    10.77.0.191/24
  }
}
vrrp_instance VI_92 {
  state BACKUP
  interface eth0
  virtual_router_id 92
  priority @PRIO@
  advert_int 1
  version 2
  authentication {
    auth_type PASS
    auth_pass s3cret
  }
  virtual_ipaddress {
    10.77.0.192/24
  }
}
vrrp_instance VI_93 {
  state BACKUP
  interface eth0
  virtual_router_id 93
  priority @PRIO@
  advert_int 1
  version 3
  virtual_ipaddress {
    fe80::93/64
    fd77::193/64
  }
}
vrrp_instance VI_94 {
  state BACKUP
  interface eth0
  virtual_router_id 94
  priority @PRIO@
  advert_int 1
  version 3
  unicast_src_ip 10.77.0.1
  unicast_peer {
    10.77.0.3
  }
  virtual_ipaddress {
    10.77.0.194/24
  }
}
T
PRIO1=100 ONLY1=1 NODES=3 KILL=0 HOOK="sleep 5; '$EXP_HERE/bad-packets-seq.sh'" \
    "$REC" "$D/bad.tmpl" "$D/bad-packets.pcap" 21 0
"$SUM" "$D/bad-packets.pcap" | grep -v -e ARP -e 'Neighbor Adv' >"$D/summary.txt"
