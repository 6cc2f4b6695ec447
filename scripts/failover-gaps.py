#!/usr/bin/env python3
"""Failover gaps on the wire, from the bridge captures of scripts/bench-failover.sh.

usage: failover-gaps.py DIR

DIR holds LABEL.pcap and LABEL.meta ("IMPL1 IMPL2 INTERVAL_S VIP", the daemon on
10.77.0.1 and on 10.77.0.2). In each capture every change of the sender of
adverts with a priority is a takeover: from the old Master's last advert (its
priority-0 one after SIGTERM, so the kind of stop shows on the wire) to the new
Master's first advert, and to its first gratuitous ARP for the VIP. Prints
DIR/trials.tsv and a Markdown table of medians and ranges against the protocol
(Backups have priority 100: Skew_Time = 156/256 x interval, Master_Down_Interval
= 3 x interval + Skew_Time) to stdout. Standard library only.
"""
import glob
import os
import statistics
import struct
import sys


def packets(path):
    """(time, frame) for each packet of a classic pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian, scale = {0xA1B2C3D4: ("<", 1e-6), 0xA1B23C4D: ("<", 1e-9),
                     0xD4C3B2A1: (">", 1e-6), 0x4D3CB2A1: (">", 1e-9)}[magic]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        yield sec + frac * scale, data[off + 16:off + 16 + incl]
        off += 16 + incl


def takeovers(path, vip):
    """(kind, old sender, new sender, advert gap, GARP gap) of each takeover."""
    adverts, garps = [], []
    vip = bytes(int(x) for x in vip.split("."))
    for t, d in packets(path):
        kind = d[12:14]
        if kind == b"\x08\x00" and d[23] == 112:
            ihl = (d[14] & 0x0F) * 4
            adverts.append((t, ".".join(map(str, d[26:30])), d[14 + ihl + 2]))
        elif kind == b"\x08\x06" and d[28:32] == vip and d[38:42] == vip:
            garps.append((t, ".".join(map(str, d[28:32])), d[6:12]))
    macs = {}
    for t, d in packets(path):
        if d[12:14] == b"\x08\x00" and d[23] == 112:
            macs.setdefault(".".join(map(str, d[26:30])), d[6:12])
    out, master, last = [], None, {}
    for t, src, prio in adverts:
        if prio > 0 and master is not None and src != master and master in last:
            old_t, old_prio = last[master]
            garp = next((g for g, _, mac in garps if g >= t and mac == macs[src]), None)
            out.append(("TERM" if old_prio == 0 else "KILL", master, src,
                        t - old_t, None if garp is None else garp - old_t))
        if prio > 0:
            master = src
        last[src] = (t, prio)
    return out


def main():
    d = sys.argv[1]
    rows = {}
    with open(os.path.join(d, "trials.tsv"), "w") as tsv:
        tsv.write("lab\tpair\tinterval_s\tstop\tadvert_gap_s\tgarp_gap_s\n")
        for pcap in sorted(glob.glob(os.path.join(d, "*.pcap"))):
            label = os.path.basename(pcap)[:-5]
            with open(pcap[:-5] + ".meta") as f:
                impl1, impl2, interval, vip = f.read().split()
            impl = {"10.77.0.1": impl1, "10.77.0.2": impl2}
            interval = float(interval)
            for kind, old, new, gap, garp in takeovers(pcap, vip):
                pair = f"{impl[old]}→{impl[new]}"
                tsv.write(f"{label}\t{pair}\t{interval}\t{kind}\t{gap:.6f}\t{'' if garp is None else f'{garp:.6f}'}\n")
                rows.setdefault((interval, kind, pair), []).append((gap, garp))
    print("| advert_int | stop | pair | trials | protocol | advert gap: median (range) "
          "| median − protocol | GARP gap: median (range) | ÷ keepalived→keepalived |")
    print("|---|---|---|---|---|---|---|---|---|")
    order = ["vigil→vigil", "keepalived→keepalived", "vigil→keepalived", "keepalived→vigil"]
    ms = lambda s: f"{s * 1000:.1f}"
    verdicts = []
    for (interval, kind, pair) in sorted(rows, key=lambda k: (-k[0], k[1], order.index(k[2]))):
        gaps = [g for g, _ in rows[(interval, kind, pair)]]
        garps = [g for _, g in rows[(interval, kind, pair)] if g is not None]
        skew = (256 - 100) / 256 * interval
        proto = skew if kind == "TERM" else 3 * interval + skew
        med = statistics.median(gaps)
        ka = rows.get((interval, kind, "keepalived→keepalived"))
        ka_med = statistics.median(g for g, _ in ka) if ka else None
        ratio = f"{med / ka_med:.4f}" if ka_med else "—"
        garp = (f"{ms(statistics.median(garps))} ({ms(min(garps))}–{ms(max(garps))})"
                if garps else "—")
        print(f"| {interval:g} s | SIG{kind} | {pair} | {len(gaps)} | {ms(proto)} ms | "
              f"{ms(med)} ({ms(min(gaps))}–{ms(max(gaps))}) ms | {ms(med - proto)} ms | "
              f"{garp} ms | {ratio} |")
        if ka_med is not None and pair != "keepalived→keepalived":
            ok = abs(med - proto) <= abs(ka_med - proto) + 0.002
            verdicts.append(f"{interval:g} s SIG{kind} {pair}: |{ms(med - proto)}| ms vs "
                            f"keepalived's |{ms(ka_med - proto)}| ms + 2 ms: "
                            f"{'met' if ok else 'MISSED'}")
    print()
    for v in verdicts:
        print(f"- {v}")


if __name__ == "__main__":
    main()
