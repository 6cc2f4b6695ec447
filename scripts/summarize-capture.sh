#!/usr/bin/env bash
# Print a capture one packet a line: epoch time, time since the first packet,
# source, IPv4 id / TTL / TOS or IPv6 hop limit / traffic class, VRRP version,
# VRID, priority, interval (v2 s, v3 cs), and tshark's summary.
# usage: summarize-capture.sh FILE.pcap
set -euo pipefail
tshark -r "$1" -T fields -E separator='|' \
    -e frame.time_epoch -e frame.time_relative -e eth.src -e ip.src -e ipv6.src \
    -e ip.dst -e ipv6.dst -e ip.id -e ip.ttl -e ip.dsfield -e ipv6.hlim -e ipv6.tclass \
    -e vrrp.version -e vrrp.virt_rtr_id -e vrrp.prio -e vrrp.adver_int -e vrrp.short_adver_int -e vrrp.checksum.status -e _ws.col.Info 2>/dev/null |
awk -F'|' '{
    src = $4 $5; dst = $6 $7;
    if ($4 != "") l3 = sprintf("id=%s ttl=%s tos=%s", $8, $9, $10);
    else if ($5 != "") l3 = sprintf("hlim=%s tc=%s", $11, $12);
    else l3 = "";
    v = ($13 != "") ? sprintf("v%s vrid=%s prio=%s int=%s%s ck=%s", $13, $14, $15, $16, $17, ($18==1?"good":($18==0?"BAD":($18==2?"unverified":"-")))) : "";
    printf "%s %8.4f %-17s %-26s -> %-12s %-28s %-36s %s\n", $1, $2, $3, src, dst, l3, v, $19
}'
