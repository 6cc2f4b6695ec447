#!/usr/bin/env bash
# Equal priorities (100 and 100): (a) both start together; (b) node 1 (10.77.0.1,
# the lower address) first and MASTER, node 2 (10.77.0.2, higher) 5 s later;
# (c) node 2 first, node 1 5 s later.
. "$(dirname "$0")/exp-common.sh"
D=$(exp_dir equal-prio)
tmpl "$D/v3.tmpl" 3 87 1 10.77.0.187/24
PRIO1=100 PRIO2=100 KILL=0 "$REC" "$D/v3.tmpl" "$D/a-together.pcap" 6 0
PRIO1=100 PRIO2=100 START2_DELAY=5 KILL=0 "$REC" "$D/v3.tmpl" "$D/b-lower-ip-first.pcap" 6 0
PRIO1=100 PRIO2=100 START_FIRST=2 START2_DELAY=5 KILL=0 "$REC" "$D/v3.tmpl" "$D/c-higher-ip-first.pcap" 6 0
for f in "$D"/*.pcap; do echo "== $f"; "$SUM" "$f" | grep -v ARP; done >"$D/summary.txt"
# (d) a real tie: both priority 100, partitioned (nftables bridge rule in the
# bridge namespace) for the first 6 s so both become MASTER, then healed.
cat >"$D/partition.nft" <<'N'
table bridge vgcap {
  chain cut {
    type filter hook forward priority 0;
    iifname "p1" oifname "p2" drop
    iifname "p2" oifname "p1" drop
  }
}
N
PRIO1=100 PRIO2=100 KILL=0 HOOK="
  ip netns exec \$LAB_BR nft -f $D/partition.nft && echo \"\$EPOCHREALTIME partitioned\"
  sleep 6; ip netns exec \$LAB_BR nft delete table bridge vgcap && echo \"\$EPOCHREALTIME healed\"
" "$REC" "$D/v3.tmpl" "$D/d-partition-heal.pcap" 9 0
for f in "$D"/*.pcap; do echo "== $f"; "$SUM" "$f" | grep -v ARP; done >"$D/summary.txt"
