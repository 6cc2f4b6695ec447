#!/usr/bin/env python3
"""Send one hand-made VRRP advertisement (for experiments against keepalived).

Run inside a lab namespace, e.g. `ip netns exec $NS3 vrrp-inject.py --vrid 51 --prio 50`.
IPv4 packets are built whole (IP_HDRINCL), so TTL, TOS, id and source are ours.
IPv6: raw socket with the hop limit set; checksum computed here (pseudo-header).
Prints one line: the wall-clock time of sending and what was sent.
"""
import argparse, ipaddress, socket, struct, sys, time


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--version", type=int, default=3)
    p.add_argument("--vrid", type=int, required=True)
    p.add_argument("--prio", type=int, default=100)
    p.add_argument("--int", dest="interval", type=float, default=1.0,
                   help="advert interval in seconds (v2: whole seconds, v3: centiseconds on the wire)")
    p.add_argument("--addr", action="append", default=[], help="virtual address (repeat)")
    p.add_argument("--src", default="10.77.0.3")
    p.add_argument("--dst", default=None, help="224.0.0.18 / ff02::12 by default")
    p.add_argument("--ttl", type=int, default=255, help="TTL / hop limit")
    p.add_argument("--tos", type=int, default=0xC0)
    p.add_argument("--ipid", type=int, default=1)
    p.add_argument("--auth-pass", default=None, help="v2: auth type 1 with this password")
    p.add_argument("--auth-type", type=int, default=None, help="v2: override the auth type")
    p.add_argument("--bad-checksum", action="store_true")
    p.add_argument("--type", dest="vtype", type=int, default=1)
    p.add_argument("--count-field", type=int, default=None, help="override Count IPvX Addr")
    p.add_argument("--ifname", default="eth0")
    p.add_argument("--note", default="")
    a = p.parse_args()

    v6 = ":" in a.src
    addrs = [ipaddress.ip_address(x) for x in a.addr]
    dst = a.dst or ("ff02::12" if v6 else "224.0.0.18")
    count = len(addrs) if a.count_field is None else a.count_field
    if a.version == 2:
        auth_type = 1 if a.auth_pass is not None else 0
        if a.auth_type is not None:
            auth_type = a.auth_type
        hdr = struct.pack("!BBBBBBH", (2 << 4) | a.vtype, a.vrid, a.prio, count,
                          auth_type, int(a.interval), 0)
        body = b"".join(x.packed for x in addrs)
        body += (a.auth_pass or "").encode()[:8].ljust(8, b"\0")
    else:
        cs = int(round(a.interval * 100))
        hdr = struct.pack("!BBBBHH", (3 << 4) | a.vtype, a.vrid, a.prio, count,
                          cs & 0x0FFF, 0)
        body = b"".join(x.packed for x in addrs)
    vrrp = hdr + body
    src_ip = ipaddress.ip_address(a.src.split("%")[0])
    dst_ip = ipaddress.ip_address(dst)
    if a.version == 3:
        if v6:
            pseudo = src_ip.packed + dst_ip.packed + struct.pack("!I3xB", len(vrrp), 112)
        else:
            pseudo = src_ip.packed + dst_ip.packed + struct.pack("!xBH", 112, len(vrrp))
        c = csum(pseudo + vrrp)
    else:
        c = csum(vrrp)
    if a.bad_checksum:
        c ^= 0x5A5A
    vrrp = vrrp[:6] + struct.pack("!H", c) + vrrp[8:]

    if v6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 112)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.ifname.encode())
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, a.ttl)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, a.ttl)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, a.tos)
        idx = socket.if_nametoindex(a.ifname)
        s.bind((str(src_ip), 0, 0, idx))
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
        s.sendto(vrrp, (dst, 0, 0, idx))
    else:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, a.tos, 20 + len(vrrp), a.ipid, 0, a.ttl, 112,
                         0, src_ip.packed, dst_ip.packed)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.ifname.encode())
        s.sendto(ip + vrrp, (dst, 0))
    print("%.6f inject v%d vrid=%d prio=%d int=%s ttl=%d src=%s dst=%s addrs=%s%s%s %s" % (
        time.time(), a.version, a.vrid, a.prio, a.interval, a.ttl, a.src, dst,
        ",".join(map(str, addrs)), " BADCSUM" if a.bad_checksum else "",
        (" pass=" + a.auth_pass) if a.auth_pass is not None else "", a.note), flush=True)


if __name__ == "__main__":
    main()
