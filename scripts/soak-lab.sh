#!/usr/bin/env bash
# Lab soak: MINUTES (default 10) of random faults against a three-node vigil
# cluster in network namespaces, a client probing the VIP every 10 ms.
# One fault at a time — crash/start, stop/start, freeze/thaw, link down/up,
# one node partitioned from the rest — held 2-8 s, then 2-8 s of calm. The
# scenario is generated from SEED (printed) and kept in OUT with the lab's
# JSON timeline. Prints the longest unanswered gap of the client's probes
# beside Master_Down_Interval, and the expectations' verdicts (single
# Master, takeover); exit 1 if either fails. Root, not CI.
#
# With HIGHER_PRIO_SEND_ADVERT=1 every instance gets keepalived's
# `higher_prio_send_advert`: a Master that yields to a higher priority
# advertises once more, so a Master isolated by a partition and still Master
# when it heals hears it and re-announces the VIP (without it, the client's
# ARP cache can keep the yielded node's MAC until it expires, as with
# keepalived's defaults).
#
#   scripts/soak-lab.sh [MINUTES] [SEED]     env: OUT (a temp dir), HIGHER_PRIO_SEND_ADVERT
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-10}
seed=${2:-$RANDOM}
[ "$(id -u)" = 0 ] || { echo "SKIPPED: needs root" >&2; exit 0; }
out=${OUT:-$(mktemp -d /tmp/soak-lab.XXXXXX)}
cargo build --profile dist --quiet --bin vigil
echo "seed $seed, $minutes min, load before: $(cut -d' ' -f1-3 /proc/loadavg), OUT=$out"

python3 - "$minutes" "$seed" "${HIGHER_PRIO_SEND_ADVERT:-}" >"$out/soak.toml" <<'EOF'
import random, sys
minutes, seed = int(sys.argv[1]), int(sys.argv[2])
extra = "\n    higher_prio_send_advert" if sys.argv[3] else ""
rng = random.Random(seed)
nodes = [("lb1", 150), ("lb2", 100), ("lb3", 50)]
print(f'name = "lab soak, seed {seed}"')
print(f'duration = "{minutes * 60}s"')
for i, (name, prio) in enumerate(nodes, 1):
    print(f"""
[[node]]
name = "{name}"
addr = "10.0.0.{i}/24"
config = '''
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {prio}
    advert_int 1{extra}
    virtual_ipaddress {{ 10.0.0.100/24 }}
}}
'''""")
print("""
[[client]]
name = "c1"
addr = "10.0.0.50/24"
probe = "10.0.0.100"
every = "10ms"
""")
faults = [("crash", "start"), ("stop", "start"), ("freeze", "thaw"),
          ("link_down", "link_up"), ("partition", "heal")]
t, end = 10.0, minutes * 60 - 10
while t < end:
    kind, undo = rng.choice(faults)
    node = rng.choice(nodes)[0]
    hold = rng.uniform(2, 8)
    if kind == "partition":
        rest = ", ".join(f'"{n}"' for n, _ in nodes if n != node)
        print(f'[[step]]\nat = "{t:.2f}s"\npartition = [["{node}"], [{rest}, "c1"]]\n')
        print(f'[[step]]\nat = "{t + hold:.2f}s"\nheal = true\n')
    else:
        print(f'[[step]]\nat = "{t:.2f}s"\n{kind} = "{node}"\n')
        print(f'[[step]]\nat = "{t + hold:.2f}s"\n{undo} = "{node}"\n')
    t += hold + rng.uniform(2, 8)
print('[[expect]]\nalways = "single_master"\n')
print('[[expect]]\nalways = "takeover"')
EOF

status=0
target/dist/vigil lab "$out/soak.toml" --json >"$out/timeline.jsonl" 2>"$out/lab.err" || status=$?
python3 - "$out/timeline.jsonl" <<'EOF'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
steps = sum(1 for e in events if e.get("what", {}).get("event") == "step")
first_step = min((e["at"] for e in events if e.get("what", {}).get("event") == "step"), default=0)
gap, worst, down_at = 0, None, None
for e in events:
    w = e.get("what", {})
    # The first election is not a failover: count from the first fault on.
    if w.get("event") != "probe" or e["host"] != "c1" or e["at"] < first_step:
        continue
    if w["answered_by"] is None:
        down_at = down_at if down_at is not None else e["at"]
    elif down_at is not None:
        if e["at"] - down_at > gap:
            gap, worst = e["at"] - down_at, down_at
        down_at = None
verdicts = [w for e in events if (w := e.get("what", {})).get("event") == "expectation"]
print(f"{steps} steps; longest unanswered gap {gap / 1e6:.0f} ms (from {worst / 1e9 if worst else 0:.2f} s)")
print("Master_Down_Interval at advert_int 1 s: 3609 ms for priority 100, 3805 ms for 50")
for v in verdicts:
    print(f"{v['text']}: {'ok' if v['passed'] else 'FAILED ' + v['detail']}")
print(json.dumps(events[-1]))
EOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
