#!/usr/bin/env bash
# Virtual address list mismatch (v3, VRID 90). Node 1 (150) and node 2 (100)
# start together; node 1 SIGTERM at 7 s.
# (a) same count, different address: node 1 10.77.0.190, node 2 10.77.0.191
# (b) different count: node 1 10.77.0.190 + 10.77.0.192, node 2 10.77.0.190
. "$(dirname "$0")/exp-common.sh"
D=$(exp_dir addr-mismatch)
tmpl "$D/vip190.tmpl" 3 90 1 10.77.0.190/24
tmpl "$D/vip191.tmpl" 3 90 1 10.77.0.191/24
tmpl "$D/vip190-192.tmpl" 3 90 1 10.77.0.190/24 10.77.0.192/24
TEMPLATE2="$D/vip191.tmpl" "$REC" "$D/vip190.tmpl" "$D/a-other-address.pcap" 7 2
TEMPLATE2="$D/vip190.tmpl" "$REC" "$D/vip190-192.tmpl" "$D/b-other-count.pcap" 7 2
for f in "$D"/*.pcap; do echo "== $f"; "$SUM" "$f" | grep -v ARP; done >"$D/summary.txt"
