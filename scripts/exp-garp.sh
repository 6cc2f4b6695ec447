#!/usr/bin/env bash
# Gratuitous ARP / unsolicited NA on becoming MASTER, and the repeat after
# garp_master_delay (default 5 s); IPv4 id over successive adverts and across two
# instances of one process. Node 1 alone, 12 s, three instances:
#   VI_71 v3 IPv4 two VIPs, VI_73 v2 IPv4 one VIP, VI_72 v3 IPv6 (fe80::72, fd77::172)
. "$(dirname "$0")/exp-common.sh"
D=$(exp_dir garp)
cat >"$D/garp.tmpl" <<'T'
global_defs { router_id ka@ID@ }
vrrp_instance VI_71 {
  state BACKUP
  interface eth0
  virtual_router_id 71
  priority @PRIO@
  advert_int 1
  version 3
  virtual_ipaddress {
    10.77.0.171/24
    10.77.0.172/24
  }
}
vrrp_instance VI_73 {
  state BACKUP
  interface eth0
  virtual_router_id 73
  priority @PRIO@
  advert_int 1
  version 2
  virtual_ipaddress {
    10.77.0.173/24
  }
}
vrrp_instance VI_72 {
  state BACKUP
  interface eth0
  virtual_router_id 72
  priority @PRIO@
  advert_int 1
  version 3
  virtual_ipaddress {
    fe80::72/64
    fd77::172/64
  }
}
T
ONLY1=1 KILL=0 "$REC" "$D/garp.tmpl" "$D/garp-alone-12s.pcap" 12 0
"$SUM" "$D/garp-alone-12s.pcap" >"$D/summary.txt"
