# SPDX-License-Identifier: BSD-3-Clause
"""The report of scripts/bench.

Usage: report.py OUT DOCS
  OUT   the results directory (machine.env, dirigo_bench_huge.json (the main figures),
        dirigo_bench.json (--no-huge, a second column), dirigo_bench_scale.json, testpmd-*.txt,
        profile-*.txt, pipeline_bench.json, conntrack_bench.json)
  DOCS  the docs directory to write performance.md and performance.png into, or "-" for none
Always prints the short summary table to stdout.
"""
import json
import os
import re
import statistics
import sys

out, docs = sys.argv[1], sys.argv[2]
docs = None if docs == "-" else docs


def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


env = {}
if os.path.exists(os.path.join(out, "machine.env")):
    for line in open(os.path.join(out, "machine.env")):
        k, _, v = line.rstrip("\n").partition("=")
        env[k] = v
nohuge = load("dirigo_bench.json") or {"scenarios": [], "memory": [], "skipped": [],
                                       "machine": {"tsc_hz": 0}}
huge = load("dirigo_bench_huge.json")
HZ = nohuge["machine"].get("tsc_hz") or (huge or {}).get("machine", {}).get("tsc_hz") or 1
# Hugepages give the main figures; --no-huge is a second column only (its ratios are to its own
# --no-huge baselines, never to a hugepage ceiling). Without a hugepage run, --no-huge is main.
MAIN, SECOND = (huge, nohuge) if huge else (nohuge, None)
ML, SL = ("hugepages", "no-huge") if huge else ("no-huge", None)
scale = load("dirigo_bench_scale.json")


def scen(d, name):
    if not d:
        return None
    for s in d["scenarios"]:
        if s["name"] == name:
            return s
    return None


def testpmd(name):
    """testpmd's figures: its own cycles/packet and MHz, packets, forwarding wall seconds (its
    cycle total over its clock), Mpps wall, and cycles/packet of busy core time (the forwarding
    thread's CPU time over the packets)."""
    p = os.path.join(out, name)
    if not os.path.exists(p):
        return None
    text = open(p).read()
    cyc = re.search(r"CPU cycles/packet=([\d.]+) \(total cycles=(\d+) / total \w+ packets=(\d+)\)"
                    r" at (\d+) MHz", text)
    if not cyc:
        tail = [x for x in text.strip().splitlines() if x.strip()]
        return {"error": tail[-2] if len(tail) > 1 else (tail[-1] if tail else "no output")}
    own, total, pkts, mhz = float(cyc.group(1)), int(cyc.group(2)), int(cyc.group(3)), int(cyc.group(4))
    wall = total / (mhz * 1e6)
    ns = re.search(r"fwd_thread_cpu_ns=(\d+)", text)
    busy = None
    if ns and int(ns.group(1)) > 0 and pkts:
        busy = int(ns.group(1)) * 1e-9 * HZ / pkts
    return {"cycles": own, "mhz": mhz, "packets": pkts, "seconds": wall,
            "mpps": pkts / wall / 1e6 if wall else None, "busy_cycles": busy}


tp = {k: testpmd(f"testpmd-{k}.txt")
      for k in ("io-huge", "macswap-huge", "io", "macswap", "macswap-huge-end")}


def fmt(v, nd=1, suffix=""):
    return "-" if v is None or v == 0 else f"{v:.{nd}f}{suffix}"


def pct(v):
    return "-" if not v else f"{100 * v:.1f}%"


def mpps(cyc):
    return None if not cyc else HZ / cyc / 1e6


def sync_pairs(d):
    """(off, on) scenario pairs of the connection-sync cost: "X sync" and its "X"."""
    out = []
    for on in (d or {}).get("scenarios", []):
        if on.get("sync") and on["name"].endswith(" sync"):
            off = scen(d, on["name"][:-len(" sync")])
            if off and not off.get("sync"):
                out.append((off, on))
    return out


def sync_cost(off, on):
    """(unit, off figure, on figure, difference, relative difference, paired median difference):
    cycles per new connection for newconn3, per packet for established traffic. The paired
    median compares the two variants' windows of the same rep."""
    per_conn = on["kind"] == "newconn3"
    key = "cycles_per_conn" if per_conn else "cycles_per_pkt"
    a, b = off.get(key) or 0, on.get(key) or 0
    if not a or not b:
        return None

    def per(w):
        if per_conn:
            return HZ / w["conns_per_s"] if w.get("conns_per_s") else None
        return w.get("cycles_per_pkt") or None
    pairs = [(per(x), per(y)) for x, y in zip(off.get("runs", []), on.get("runs", []))]
    diffs = [y - x for x, y in pairs if x and y]
    paired = statistics.median(diffs) if diffs else None
    return ("new connection" if per_conn else "packet", a, b, b - a, (b - a) / a, paired)


def ipv4_twin(name):
    """The IPv4 scenario an IPv6 one mirrors ("nat6 1K uniform" -> "nat 1K uniform", "newconn6
    rr" -> "newconn rr"), or None for an IPv4 scenario."""
    for v6, v4 in (("nat6 ", "nat "), ("newconn6 ", "newconn ")):
        if name.startswith(v6):
            return v4 + name[len(v6):]
    return None


def v6_pairs(d):
    """(IPv6 scenario, its IPv4 twin) of one run, both measured."""
    pairs = []
    for s6 in (d or {}).get("scenarios", []):
        twin = ipv4_twin(s6["name"])
        s4 = scen(d, twin) if twin else None
        if s4 and s6.get("cycles_per_pkt") and s4.get("cycles_per_pkt"):
            pairs.append((s6, s4))
    return pairs


def own_work(s):
    """Cycles per packet beyond the io loop fed the same frames, or None."""
    if not s.get("cycles_per_pkt") or not s.get("io_cycles"):
        return None
    return s["cycles_per_pkt"] - s["io_cycles"]


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b and b > 0 else "-"


# ------------------------------------------------------------------------------------------
# The summary (stdout): what an integrator compares before and after a change.
names = [s["name"] for s in MAIN["scenarios"]]
for s in (SECOND or {}).get("scenarios", []):
    if s["name"] not in names:
        names.append(s["name"])
print()
print(f"summary: cycles/packet, medians of {MAIN.get('reps', '?')} interleaved runs "
      f"(TSC {HZ / 1e9:.2f} GHz; load average {env.get('loadavg', '?')} -> "
      f"{env.get('loadavg_end', '?')})")
hdr = (f"  {'scenario':<18} {ML:>9} {'vs macswap':>11} {'vs io':>8} {'spread':>7} "
       f"{SL or '-':>10} {'vs macswap':>11} {'Mconn/s':>8}")
print(hdr)
for n in names:
    a, b = scen(MAIN, n), scen(SECOND, n)
    conn = a or b
    cps = (f"{conn['conns_per_s'] / 1e6:.2f}"
           if conn and conn["kind"] in ("newconn", "newconn3", "newconn6") else "-")
    print(f"  {n:<18} {fmt(a and a['cycles_per_pkt']):>9} {pct(a and a['ratio_macswap']):>11} "
          f"{pct(a and a['ratio_io']):>8} {fmt(a and a['spread_pct'], 0, '%'):>7} "
          f"{fmt(b and b['cycles_per_pkt']):>10} {pct(b and b['ratio_macswap']):>11} {cps:>8}")
ms1k = scen(MAIN, "nat 1K uniform")
for label, d in ((ML, MAIN), (SL, SECOND)):
    s1 = scen(d, "nat 1K uniform")
    if s1:
        print(f"  {'macswap loop ' + label:<18} {fmt(s1['macswap_cycles']):>9}   (this harness, "
              f"{fmt(mpps(s1['macswap_cycles']), 1)} Mpps/core; io loop "
              f"{fmt(s1['io_cycles'])})")
for k, v in tp.items():
    if v and "error" not in v:
        print(f"  {'testpmd ' + k:<18} {fmt(v['busy_cycles']):>9}   (per busy core; its own "
              f"count {fmt(v['cycles'])}, {fmt(v['mpps'], 1)} Mpps wall)")
    elif v:
        print(f"  testpmd {k}: {v['error']}")
for label, d in ((ML, MAIN), (SL, SECOND)):
    for s6, s4 in v6_pairs(d):
        o6, o4 = own_work(s6), own_work(s4)
        print(f"  {s6['name']} ({label}): {s6['cycles_per_pkt']:.0f} cycles/pkt vs "
              f"{s4['name']} {s4['cycles_per_pkt']:.0f}: IPv6/IPv4 "
              f"{ratio(s6['cycles_per_pkt'], s4['cycles_per_pkt'])}; own work beyond io "
              f"{fmt(o6, 0)} vs {fmt(o4, 0)}: {ratio(o6, o4)}"
              + ("" if s6["ok"] and s4["ok"] else " (NOT ok)"))
for label, d in ((ML, MAIN), (SL, SECOND)):
    for off, on in sync_pairs(d):
        c = sync_cost(off, on)
        if c:
            print(f"  {off['name']} ({label}): sync master: {c[3]:+.0f} cycles per {c[0]} "
                  f"({100 * c[4]:+.1f}%), {c[1]:.0f} -> {c[2]:.0f}"
                  + ("" if off["ok"] and on["ok"] else " (NOT ok)"))
for r in (scale or {}).get("scale", []):
    print(f"  {r['name']}: 1 worker {r['mpps_busy_1']:.2f} Mpps, 2 workers "
          f"{r['mpps_busy_2']:.2f} Mpps (busy time): scaling factor {r['factor_busy']:.2f} "
          f"(wall clock {r['factor_wall']:.2f})" + ("" if r["ok"] else " (NOT ok)"))
if env.get("huge_note"):
    print(f"  note: {env['huge_note']}")
print(f"  raw results: {out}")

if docs is None:
    sys.exit(0)

# ------------------------------------------------------------------------------------------
# docs/performance.md
lines = []
w = lines.append
w("# Dirigo performance")
w("")
w("Generated by `scripts/bench` (do not edit by hand: run it again). Every figure comes from one "
  "run on one machine that other work shares, so **compare figures of the same run only** -- "
  "ratios to the baselines measured seconds apart -- and expect absolute numbers to move on "
  "another machine or another day.")
w("")
w("## The run")
w("")
w(f"- Command: `{env.get('command', 'scripts/bench')}`; dirigo-bench ran as "
  f"`{MAIN.get('command', '?')}`, EAL `{MAIN.get('eal', '?')}`"
  + (f"; and with --no-huge as `{SECOND['command']}`, EAL `{SECOND['eal']}`" if SECOND else "")
  + (f"; the scaling run as `{scale['command']}`, EAL `{scale['eal']}`" if scale else ""))
w(f"- Date: {env.get('date', '?')}; tree: {env.get('git', '?')}; build dir "
  f"`{env.get('build_dir', 'build')}`; the whole script took {env.get('elapsed_s', '?')} s")
w(f"- Build: `{env.get('buildtype', '?')}` build type; CPU baseline "
  f"`-march={MAIN.get('cpu_baseline', '?')}` (meson `-Dcpu_baseline`)")
w(f"- Machine: {env.get('nproc', '?')} vCPUs, {env.get('cpu', '?')}, "
  f"{env.get('mem_total_gib', '?')} GiB; CPU frequency governor: {env.get('governor', '?')}; "
  f"kernel {env.get('kernel', '?')}; {env.get('os', '?')}; DPDK {env.get('dpdk', '?')}; "
  f"{env.get('compiler', '?')}")
w(f"- TSC: {HZ / 1e9:.3f} GHz (every cycle figure is TSC cycles)")
w(f"- Load average (1, 5, 15 min) at the start / end: {env.get('loadavg', '?')} / "
  f"{env.get('loadavg_end', '?')}: other engineers' builds and tests share the two vCPUs")
w(f"- Hugepages: {env.get('hugepages', '?')} before the run; "
  f"{env.get('hugepages_run', '?')}" +
  (f"; {env['huge_note']}" if env.get("huge_note") else "; hugepage run done"))
w(f"- Windows: {MAIN.get('reps', '?')} interleaved runs of {MAIN.get('duration_s', '?')} s "
  "per loop and scenario (io, macswap, 5tswap, Dirigo; repeated), after a warm-up; medians")
w("")

# Headline
w("## Summary")
w("")
w(f"Cycles per packet of one worker core (lower is better), {ML} (the main figures)"
  + (f"; the last two columns are the --no-huge run, against its own --no-huge baselines"
     if SECOND else "") +
  ". *vs macswap* and *vs io* are "
  "Dirigo's speed as a share of the baseline loop's, each Dirigo run against the baseline run "
  "just before it on the same core and the same traffic, median over the runs. *own work* is "
  "what Dirigo spends beyond the io loop on the same input (its cycles minus io's). *spread* is "
  "(max - min) / median of Dirigo's runs.")
w("")
w("| scenario | cycles/pkt | Mpps/core | vs macswap | vs io | own work | spread | "
  "macswap cycles/pkt | io cycles/pkt | cycles/pkt --no-huge | vs macswap --no-huge |")
w("|---|---|---|---|---|---|---|---|---|---|---|")
for n in names:
    a, b = scen(MAIN, n), scen(SECOND, n)
    if a is None and b is None:
        continue
    a = a or {}
    own = (a.get("cycles_per_pkt") or 0) - (a.get("io_cycles") or 0)
    w(f"| {n} | {fmt(a.get('cycles_per_pkt'))} | {fmt(a.get('mpps_core'), 2)} | "
      f"{pct(a.get('ratio_macswap'))} | {pct(a.get('ratio_io'))} | "
      f"{fmt(own if a.get('cycles_per_pkt') else None, 0)} | "
      f"{fmt(a.get('spread_pct'), 0, '%')} | {fmt(a.get('macswap_cycles'))} | "
      f"{fmt(a.get('io_cycles'))} | {fmt(b and b['cycles_per_pkt'])} | "
      f"{pct(b and b['ratio_macswap'])} |")
w("")
newc = [(s, ML) for s in MAIN["scenarios"] if s["kind"] == "newconn"]
newc += [(s, SL) for s in (SECOND or {}).get("scenarios", []) if s["kind"] == "newconn"]
if newc:
    w("New connections (every packet the SYN of a new flow, the table filled from empty to 85% "
      "over the runs): " + "; ".join(
          f"{s['mode']} {s['conns_per_s'] / 1e6:.2f} M/s per core ({mode}, table "
          f"{s['table_size']:,}, {s['cycles_per_pkt']:.0f} cycles each)" for s, mode in newc) + ".")
    w("")
for label, d in ((ML, MAIN), (SL, SECOND)):
    for sk in (d or {}).get("skipped", []):
        w(f"- Skipped ({label}): {sk}")
if MAIN.get("skipped") or (SECOND or {}).get("skipped"):
    w("")

# IPv6 next to IPv4
if v6_pairs(MAIN) or v6_pairs(SECOND):
    w("## IPv6 next to IPv4")
    w("")
    w("Each IPv6 row is its IPv4 twin's scenario on an IPv6 rig: the same connections in the "
      "same order (the same seeded sequence), an IPv6 NAT service `[2001:2:0:a::100]:80` (RFC "
      "5180's benchmarking prefix) with the same eight masquerading real servers, and the "
      "smallest IPv6 TCP frames -- 74 bytes in the mbuf (78 on the wire) against IPv4's 60 "
      "(64) -- whose headers the generator stamps as it stamps IPv4's (one address word and a "
      "port patched, the TCP checksum adjusted). The IPv6 connection table is an eighth of "
      "`conn_table_size` (docs/conntrack.md), so the `nat6` rig's `conn_table_size` is eight "
      "times the connections: its IPv6 table is exactly as large as the IPv4 twin's table; "
      "`newconn6 rr` keeps `newconn rr`'s configuration and so fills an eighth as large a table "
      "to the same 85%. The baselines of an IPv6 row forward the same IPv6 frames, so *own "
      "work* (Dirigo minus io, same frames) is the fairest comparison: it leaves out the longer "
      "header copy of the generator and the larger frame, which the io loop pays too.")
    w("")
    w("| IPv6 scenario | cycles/pkt | own work | io cycles/pkt | IPv4 twin | cycles/pkt | "
      "own work | io cycles/pkt | IPv6 / IPv4 cycles | IPv6 / IPv4 own work | run |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, d in ((ML, MAIN), (SL, SECOND)):
        for s6, s4 in v6_pairs(d):
            o6, o4 = own_work(s6), own_work(s4)
            w(f"| {s6['name']} | {fmt(s6['cycles_per_pkt'])} | {fmt(o6, 0)} | "
              f"{fmt(s6.get('io_cycles'))} | {s4['name']} | {fmt(s4['cycles_per_pkt'])} | "
              f"{fmt(o4, 0)} | {fmt(s4.get('io_cycles'))} | "
              f"{ratio(s6['cycles_per_pkt'], s4['cycles_per_pkt'])} | {ratio(o6, o4)} | "
              f"{label} |")
    for label, d in ((ML, MAIN), (SL, SECOND)):
        for s6, s4 in v6_pairs(d):
            if s6["kind"] == "newconn6" and s6.get("conns_per_s") and s4.get("conns_per_s"):
                w("")
                w(f"New IPv6 connections ({label}): {s6['conns_per_s'] / 1e6:.2f} M/s per core "
                  f"(table {s6['table_size']:,}) against IPv4's {s4['conns_per_s'] / 1e6:.2f} M/s "
                  f"(table {s4['table_size']:,}).")
    w("")
    w("Why IPv6 costs more (dataplane/worker.cpp, conntrack/): the IPv4 path works a burst in "
      "stages -- parse and hash every packet, then one bulk lookup (`ConnTable::lookup_bulk`) in "
      "Dirigo's own table, which prefetches every primary bucket, then every candidate entry, "
      "before it compares: 64-byte buckets of 16-bit signatures and no key store (a candidate's "
      "key is compared against its 32-byte hot `Conn`), so a hit costs two lines and the misses "
      "of a burst's packets overlap. IPv6 packets are looked up a burst at a time too (stage 1 "
      "builds their keys, stage 2 runs one `rte_hash_lookup_bulk_data` in `ConnTable6` and "
      "prefetches the hits' entries), but in DPDK's cuckoo hash: a bucket of signatures, then "
      "the 40-byte key in a separate key store, compared by `memcmp`, then the 128-byte, "
      "two-line `Conn6` -- one line more per packet than IPv4, and a jhash of 40 bytes. Each "
      "IPv6 packet is then decided alone (`decide_ipv6`, `service6`), with `rte_lpm6_lookup` "
      "(a trie walked a byte at a time below the first 24 bits, against IPv4's one or two "
      "rte_lpm reads) and a 16-byte neighbour probe under a seqlock. At 1K connections "
      "everything is in cache and the per-packet instructions (jhash, memcmp, lpm6) make the "
      "difference; at 1M the extra line does. The frame is also 14 bytes longer (io pays that "
      "too). The next step is an IPv6 index like IPv4's (signatures in 64-byte buckets, the key "
      "compared against the entry: no key store, one line fewer).")
    w("")

n1 = scen(nohuge, "nat 1K uniform")
h1k = scen(huge, "nat 1K uniform")
if n1 and h1k:
    w(f"On hugepages the baselines get cheaper (io {n1['io_cycles']:.0f} -> "
      f"{h1k['io_cycles']:.0f} cycles, macswap {n1['macswap_cycles']:.0f} -> "
      f"{h1k['macswap_cycles']:.0f} at 1K connections), most likely through the TLB: the "
      "8191-mbuf pool spans about 4,700 4 KiB pages but 10 hugepages, and each packet touches "
      "its mbuf's header and data lines. A production director runs on hugepages, so they are "
      "the ceiling the ratios are taken against; the --no-huge column is there to compare with "
      "older runs and with CI, and its ratios are to --no-huge baselines of the same run.")
    w("")

# Connection sync (issue 12: "state the cost per new connection")
sp = [(label, off, on) for label, d in ((ML, MAIN), (SL, SECOND))
      for off, on in sync_pairs(d)]
if sp:
    w("## Connection sync")
    w("")
    w("What a master sync daemon (`dirigoadm --start-daemon master`, docs/sync.md) costs the "
      "worker. *newconn3*: every connection is opened as a client opens it -- its SYN, its ACK of "
      "the SYN-ACK (SYN_RECV -> ESTABLISHED in IPVS's input table) and a data segment, "
      "256 connections apart so that a connection's packets never share a burst; the "
      "third client packet is the one `sync_threshold` 3 sends, so with the master on every "
      "connection queues one 32-byte record on the worker's ring. Half the table is filled "
      "first (untimed), then each window opens its own share of the next 35%, so the two "
      "variants of a rep see nearly the same fill. *nat 100K uniform*: "
      "established traffic both ways, where the master adds the countdown per client packet and "
      "a record every 50th. Each pair runs on one rig, master off and on alternating within each "
      "rep (after the same io/macswap/5tswap windows); during the windows a thread on the main "
      "lcore's core drains the ring and encodes the records into IPVS sync messages "
      "(`sync::MessageBuilder`, discarded instead of sent), as the control thread does. A row is "
      "ok only if no record was lost and, for newconn3, the records queued equal the "
      "connections opened.")
    w("")
    w("| run | scenario | master off | master on | sync master costs | paired median | "
      "spread off / on | records queued / lost / drained (messages) | ok |")
    w("|---|---|---|---|---|---|---|---|---|")
    for label, off, on in sp:
        c = sync_cost(off, on)
        if not c:
            continue
        w(f"| {label} | {off['name']} | {c[1]:.0f} cycles/{c[0].split()[-1]} | "
          f"{c[2]:.0f} cycles/{c[0].split()[-1]} | {c[3]:+.0f} cycles per {c[0]} "
          f"({100 * c[4]:+.1f}%) | "
          f"{'-' if c[5] is None else f'{c[5]:+.0f}'} | "
          f"{fmt(off['spread_pct'], 0, '%')} / {fmt(on['spread_pct'], 0, '%')} | "
          f"{on.get('sync_queued', 0):,} / {on.get('sync_lost', 0):,} / "
          f"{on.get('sync_drained', 0):,} ({on.get('sync_messages', 0):,}) | "
          f"{'yes' if off['ok'] and on['ok'] else '**no**'} |")
    w("")
    for label, off, on in sp:
        c = sync_cost(off, on)
        if c and on["kind"] == "newconn3":
            w(f"Sync master ({label}): {c[3]:+.0f} cycles per new connection "
              f"({100 * c[4]:+.1f}%), {c[1]:.0f} -> {c[2]:.0f} cycles per connection of three "
              f"packets ({off['cycles_per_pkt']:.0f} -> {on['cycles_per_pkt']:.0f} per packet).")
            w("")
    w("*paired median*: the median over reps of (master on - master off) between the two "
      "windows of the same rep. On this shared machine a window's figure moves by about its "
      "row's spread: read a difference smaller than the spreads as a bound, not a measurement "
      "to the cycle.")
    w("")

# The ruler
w("## The ruler: dpdk-testpmd on the same kind of ports")
w("")
w("`dpdk-testpmd` itself, run by the same script minutes apart: `dpdk-testpmd -l 0-1 --no-pci "
  "--vdev net_null0,copy=1,size=60 --vdev net_null1,copy=1,size=60 -- --forward-mode=MODE "
  "--stats-period 1 --record-core-cycles --total-num-mbufs 16384` on hugepages, and with "
  "`--no-huge -m 512` beside the --no-huge run, stopped by SIGINT 6 s after its first "
  "statistics (its start-up takes seconds). testpmd's own cycles/packet counts TSC cycles "
  "inside its forwarding bursts, including the time the shared machine took the core away in "
  "the middle of one, and *Mpps wall* is its packets over its forwarding time: both move with "
  "the machine's load. *Cycles/packet of busy core time* divides the CPU time of its forwarding "
  "thread (from `/proc/PID/task/TID/schedstat`, read just before the SIGINT) by its packets: "
  "the figure to set beside dirigo-bench's. dirigo-bench's loops do what testpmd's do plus "
  "the frame stamping of the RX callback (a 64-byte header line copied from a template, one "
  "connection's endpoint patched in) and one TSC read per burst, and less bookkeeping than "
  "testpmd's forwarding engines (no per-stream statistics, no burst statistics), so the two "
  "should land close together: if they do not, the ruler is off.")
w("")
w("| loop | cycles/packet of busy core time | Mpps per busy core | testpmd's own cycles/packet | Mpps wall |")
w("|---|---|---|---|---|")
for k, label in (("io-huge", "testpmd io, hugepages"),
                 ("macswap-huge", "testpmd macswap, hugepages"),
                 ("io", "testpmd io, --no-huge"), ("macswap", "testpmd macswap, --no-huge"),
                 ("macswap-huge-end", "testpmd macswap, hugepages, at the end of the run")):
    v = tp.get(k)
    if v is None:
        continue
    if "error" in v:
        w(f"| {label} | failed: {v['error']} | - | - | - |")
    else:
        w(f"| {label} | {fmt(v['busy_cycles'])} | {fmt(mpps(v['busy_cycles']), 1)} | "
          f"{fmt(v['cycles'])} | {fmt(v['mpps'], 1)} |")
for label, d in (("hugepages", huge), ("--no-huge", nohuge)):
    s1 = scen(d, "nat 1K uniform")
    if s1:
        for k in ("io", "macswap"):
            w(f"| dirigo-bench {k} loop, {label} (medians, nat 1K uniform traffic) | "
              f"{fmt(s1[k + '_cycles'])} | {fmt(mpps(s1[k + '_cycles']), 1)} | - | - |")
w("")
for label, d, sfx in (("On hugepages", huge, "-huge"), ("With --no-huge", nohuge, "")):
    s1 = scen(d, "nat 1K uniform")
    tio, tms = tp.get("io" + sfx) or {}, tp.get("macswap" + sfx) or {}
    if s1 and tio.get("busy_cycles") and tms.get("busy_cycles"):
        w(f"{label}, dirigo-bench's io loop took {s1['io_cycles']:.0f} cycles per packet "
          f"against testpmd io's {tio['busy_cycles']:.0f} per busy core, and its macswap loop "
          f"{s1['macswap_cycles']:.0f} against testpmd's {tms['busy_cycles']:.0f} "
          f"({fmt(mpps(tms['busy_cycles']), 1)} Mpps per busy core).")
        w("")

# Method
w("## How it is measured")
w("")
w("- **One core does everything per packet.** `dirigo-bench` makes two `net_null` ports "
  "(copy=1, 60-byte frames: 64 on the wire) with `rte_vdev_init`: `ext` facing the clients and "
  "`int` facing eight NAT real servers behind a TCP service VIP:80 (rr), installed through "
  "`Control::handle` as `dirigoadm` would. The worker lcore runs the real `Worker::run` loop "
  "(`Dataplane::launch`); the main lcore only starts and stops it and sleeps in between.")
w("- **The traffic is made on that core, inside `rte_eth_rx_burst`,** as a NIC would hand it "
  "over: net_null allocates the mbufs and copies a frame into each; an RX callback "
  "(`rte_eth_add_rx_callback`) then stamps each one's header line from a precomputed stream -- "
  "a template per direction patched with one connection's client endpoint, the connection "
  "taken from a precomputed uniform or Zipf(0.99) sequence of 4M entries over the N "
  "connections. `ext` carries client-to-VIP packets, `int` the real servers' replies to the "
  "same connections (half a sequence apart). net_null's TX frees what it is given.")
w("- **The connections are real:** each is established beforehand by a SYN, SYN-ACK, ACK "
  "through the worker (the SYN pass learns from a TX callback which real server each went to).")
w("- **Same input, same core, same run for the ruler:** testpmd-style `io` (forward as is), "
  "`macswap` (swap MACs, set l2/l3 lengths) and `5tswap` (swap MACs, addresses and ports) loops "
  "poll the same two ports on the same lcore, through the same callbacks and the same stream, "
  "so they pay the same generator cost. Runs interleave: io, macswap, 5tswap, Dirigo, repeated; "
  "each ratio compares a Dirigo run with the baseline run seconds before it, and the report "
  "gives medians.")
w(f"- **Cycles from the TSC over the busy loop:** the callback reads the TSC once per burst; "
  f"the interval to the next burst is charged to this burst's packets; summed over the window, "
  f"over the packets. An interval longer than {nohuge.get('preempt_us', 100):g} µs is a "
  "preemption by the shared machine and is left out (and counted: *gaps*). One TSC read per "
  "32 packets costs about a cycle per packet, charged to every loop alike.")
w("- **What the figures are, and are not.** They are the cost of the worker loop with headers "
  "already in L1 (just written by the callback on the same core): no DMA, no cache miss on the "
  "packet, no PCIe, no NIC descriptor ring. A real NIC adds a miss per packet header (an LLC "
  "hit with DDIO), so absolute Mpps here are a ceiling. The connection table, the route and "
  "neighbour lookups and the expiry sweep are the real ones, so the difference between 1K and "
  "1M or 10M connections is real memory behaviour -- on 4 KiB pages with `--no-huge` (a TLB "
  "miss per table miss) and on 2 MiB pages in the hugepage run.")
w("- **New connections:** every `ext` packet is the SYN of a new flow; each Dirigo run creates "
  "its share of 85% of the table, so the table fills from empty over the runs. The `int` port "
  "carries nothing then, but net_null still allocates and fills a burst there per loop that the "
  "callback frees: a few cycles per SYN, charged to the baselines too.")
w("- **IPv6 (`nat6 ...`, `newconn6 rr`):** the twins of the IPv4 rows on an IPv6 rig (both "
  "ports with IPv6 addresses in 2001:2::/48, a default IPv6 route via the clients' gateway, "
  "the gateway and real servers learnt from their neighbour solicitations, the service added "
  "as `ipvsadm -A -6` would), net_null ports making 74-byte frames, the smallest IPv6 TCP "
  "segment. Client f is 2001:2:0:c::/96 followed by its IPv4 twin's address, with the same "
  "port, so the generator patches as many bytes per frame as for IPv4; it copies 80 header "
  "bytes instead of 64. The baselines run on the same rig and frames. See *IPv6 next to "
  "IPv4*.")
w("- **Noise.** The machine has two vCPUs shared with other engineers' builds; the load average "
  "above says how busy it was. Preemptions are left out, but a busy sibling still evicts "
  "caches and takes memory bandwidth, which only ever adds cycles: compare *spread* and prefer "
  "ratios. The vCPUs have no frequency governor exposed and the TSC is invariant, so cycles are "
  "wall-clock time at a fixed rate, not core clock cycles.")
w("- **Replaced: the net_ring harness.** The previous dirigo-bench fed the worker from a "
  "second lcore through `net_ring` ports: every header made a cross-core cache-line trip each "
  "way, the generator was as expensive as the loops it fed (baselines idle 45-77%), and the "
  "ceiling drifted 2x with the vCPUs' placement (22 vs 44 Mpps for 5tswap in one run). It "
  "measured nothing the new one cannot: its new-connection rate was also one worker's, and "
  "cross-core delivery is better measured on real NICs. It is gone. `idle-bench` still uses a "
  "net_ring port, for what net_null cannot do: hand the worker one packet at a chosen moment "
  "after a silence (wake-up latency).")
w("- **Scaling (`dirigo-bench --scale N`):** two rigs, one with one worker and one with two "
  "(EAL `--lcores 0@0,1@1,2@0`: the second worker shares a core with the main lcore, which "
  "only sleeps), each net_null port with one RX queue per worker and a FrameSource on each "
  "queue, stamping only the connections that worker owns (`flow_owner`, as a NIC steering by "
  "the owner's hash would: no hand-off). The handshakes go the same way. Windows alternate "
  "between the rigs; a window's throughput is the sum over its workers of packets per busy "
  "second, and the scaling factor the median over reps of 2-worker over 1-worker throughput. "
  "Wall-clock Mpps are given too: on this shared machine they say more about the load than "
  "about Dirigo.")
w("")

# Details
w("## Every run")
w("")
w("Cycles per packet of each run, in order, and the interleaved baselines (same order).")
w("")
w("| run | scenario | Dirigo runs | io runs | macswap runs | 5tswap runs | cpu% | gaps | note |")
w("|---|---|---|---|---|---|---|---|---|")
for label, d in ((ML, MAIN), (SL, SECOND)):
    for s in (d or {}).get("scenarios", []):
        runs = ", ".join(f"{r['cycles_per_pkt']:.0f}" for r in s["runs"])
        def lst(k):
            return ", ".join(f"{x:.0f}" for x in s.get(k, []))
        w(f"| {label} | {s['name']} | {runs} | {lst('io_runs')} | {lst('macswap_runs')} | "
          f"{lst('fivet_runs')} | {s['cpu_pct']:.0f} | {s['gaps']} | {s['note'].strip('; ')} |")
w("")
setups = sorted({(s["conns"], s["setup_s"]) for s in MAIN["scenarios"] if s["kind"] == "nat"})
if setups:
    w("Handshakes before timing (3 packets per connection through the worker): " +
      ", ".join(f"{c:,} connections in {t:.1f} s" for c, t in setups) + ".")
    w("")

# Plot
plotted = False
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for label, d, style in ((ML, MAIN, "-"), (SL, SECOND, "--")):
        for dist, marker in (("uniform", "o"), ("zipf", "s")):
            pts = sorted((s["conns"], s["cycles_per_pkt"]) for s in (d or {}).get("scenarios", [])
                         if s["kind"] == "nat" and s["dist"] == dist and s["cycles_per_pkt"]
                         and not s.get("sync"))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], style + marker,
                        label=f"Dirigo NAT {dist}, {label}")
            pts6 = sorted((s["conns"], s["cycles_per_pkt"]) for s in (d or {}).get("scenarios", [])
                          if s["kind"] == "nat6" and s["dist"] == dist and s["cycles_per_pkt"])
            if pts6:
                ax.plot([p[0] for p in pts6], [p[1] for p in pts6], style + marker,
                        fillstyle="none", label=f"Dirigo IPv6 NAT {dist}, {label}")
    if ms1k:
        for k, color in (("macswap_cycles", "grey"), ("io_cycles", "silver")):
            ax.axhline(ms1k[k], color=color, linestyle=":",
                       label=f"{k.split('_')[0]} loop, {ML} (same run)")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("live connections")
    ax.set_ylabel("TSC cycles per packet, one core")
    ax.set_title("Dirigo established NAT: cycles per packet (one run, medians)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(docs, "performance.png"), dpi=110)
    plotted = True
except Exception as e:  # the report stands without its plot
    print(f"[bench] no plot: {e}", file=sys.stderr)
if plotted:
    w("![cycles per packet against live connections](performance.png)")
    w("")

# Targets (the performance issue's)
w("## Targets")
w("")
w("| target | measured | goal | verdict |")
w("|---|---|---|---|")
def verdict(ok):
    return "met" if ok else "**missed**"


for conns, goal in (("1K", 40), ("10M", 100)):
    a = scen(MAIN, f"nat {conns} uniform")
    if a and a.get("cycles_per_pkt") and a.get("io_cycles"):
        own = a["cycles_per_pkt"] - a["io_cycles"]
        w(f"| Own work beyond io, established NAT 64 B, {conns} connections ({ML}; "
          f"{a['cycles_per_pkt']:.0f} - {a['io_cycles']:.0f} cycles) | {own:.0f} cycles | "
          f"<= {goal} cycles | {verdict(own <= goal)} |")
    else:
        w(f"| Own work beyond io, established NAT 64 B, {conns} connections ({ML}) | not run "
          f"| <= {goal} cycles | **missed** (no figure) |")
for label, d in ((ML, MAIN), (SL, SECOND)):
    rr = scen(d, "newconn rr")
    if rr and rr["conns_per_s"]:
        v = rr["conns_per_s"]
        w(f"| New connections per second per core (rr, {label}, a table of "
          f"{rr['table_size']:,}) | {v / 1e6:.2f} M/s | >= 5 M/s | {verdict(v >= 5e6)} |")
for m in [m for m in nohuge.get("memory", []) if m["conns"] >= 10000000]:
    worst = max(m["bytes_per_conn"], m["rss_filled_per_conn"])
    w(f"| Memory per connection, {m['conns']:,} connections, both directions (the larger of "
      f"memory_bytes()/capacity and the resident growth once filled) | {worst:.0f} B | "
      f"<= 64 B | {verdict(worst <= 64)} |")
for r in (scale or {}).get("scale", []):
    w(f"| Two workers vs one ({r['name']}, busy time; software hand-offs: those of the "
      f"scaling table below) | {r['factor_busy']:.2f}x | >= 1.8x | "
      f"{verdict(r['factor_busy'] >= 1.8)} |")
w("")
w("The targets are the performance issue's. Its \"zero software hand-offs on an RSS-capable "
  "device\" cannot be measured here: no device on this machine does Toeplitz RSS with a field "
  "selection (`tests/dataplane/rss_test.cpp` checks that each one falls back to the hand-off "
  "and says so; `tests/unit/dataplane/ownership_test.cpp` checks the owner function against "
  "`rte_softrss`). The scaling runs feed each worker its own flows.")
w("")

# Scaling (dirigo-bench --scale)
if scale and scale.get("scale"):
    w("## Scaling: 1 and 2 workers")
    w("")
    w(f"`{scale.get('command', '?')}`, EAL `{scale.get('eal', '?')}`; load average "
      f"{scale['machine'].get('loadavg', '?')} at its start. Established NAT both ways, uniform "
      "over the connections; each worker's queues carry only the connections it owns (no "
      "hand-off), its table as full as the single worker's. The two-worker rig has its second "
      "worker on the main lcore's core (the machine has two). *busy* Mpps sum each worker's "
      "packets over its busy time (preemptions left out); *wall* Mpps are all packets over the "
      "window, which on this shared machine mostly measure how much CPU the others left "
      "(*CPU* is the workers' CPU time over the window: 200% would be two whole cores).")
    w("")
    w("| scenario | workers | cycles/pkt per worker (runs) | busy Mpps (runs) | wall Mpps (runs) | "
      "CPU (runs) | handed off | drops |")
    w("|---|---|---|---|---|---|---|---|")
    for r in scale["scale"]:
        for label, ws in (("1", r["one"]), ("2", r["two"])):
            cyc = "; ".join(" / ".join(f"{c:.0f}" for c in x["cycles_per_pkt"]) for x in ws)
            busy = ", ".join(f"{x['mpps_busy']:.2f}" for x in ws)
            wall = ", ".join(f"{x['mpps_wall']:.2f}" for x in ws)
            cpu = ", ".join(f"{x['cpu_pct']:.0f}%" for x in ws)
            w(f"| {r['name']} | {label} | {cyc} | {busy} | {wall} | {cpu} | "
              f"{sum(x['handed_off'] for x in ws)} | {sum(x['drops'] for x in ws)} |")
    w("")
    for r in scale["scale"]:
        w(f"{r['name']}: **scaling factor {r['factor_busy']:.2f}** from 1 to 2 workers in busy "
          f"time ({r['mpps_busy_1']:.2f} -> {r['mpps_busy_2']:.2f} Mpps, medians; each 2-worker "
          f"window against the 1-worker window of the same rep); in wall-clock Mpps "
          f"{r['mpps_wall_1']:.2f} -> {r['mpps_wall_2']:.2f} ({r['factor_wall']:.2f}), which is "
          "what the shared machine let the two threads run, not what Dirigo does with two cores. "
          "Each of the two workers' tables holds half the connections, so a factor above 2 comes "
          "from smaller tables (fewer cache and TLB misses per lookup), as it would on a real "
          "director whose connections spread over more cores."
          + ("" if r["ok"] else f" **Not ok**: {r['note']}"))
        w("")

# Published figures of other load balancers (not measured here)
w("## Beside published figures (not measured here)")
w("")
w("Per-core figures that the projects themselves published, with their clock and NIC where "
  "they give them, set beside this run's. They are **published, not measured here**, and not "
  "like for like: this ruler has no NIC (net_null, headers already in L1, no driver, no DMA, "
  "no descriptor ring), so Dirigo's cycles below leave out what a NIC driver costs (testpmd io "
  "on a real NIC: some tens of cycles per packet), while HDSLB's ~223 cycles include its driver.")
w("")
w("| load balancer | mode | per core | cycles/packet | clock, NIC | source |")
w("|---|---|---|---|---|---|")
for n in ("nat 1K uniform", "nat 1M uniform", "nat 10M uniform"):
    s1 = scen(MAIN, n)
    if s1 and s1["cycles_per_pkt"]:
        w(f"| Dirigo ({n}) | NAT, 64 B TCP, established | {s1['mpps_core']:.2f} Mpps | "
          f"{s1['cycles_per_pkt']:.0f} | TSC {HZ / 1e9:.2f} GHz, no NIC (net_null), {ML} | "
          f"measured here |")
rr = scen(MAIN, "newconn rr")
if rr and rr["conns_per_s"]:
    w(f"| Dirigo (newconn rr) | NAT, every packet a new TCP flow | "
      f"{rr['conns_per_s'] / 1e6:.2f} M conn/s | {rr['cycles_per_pkt']:.0f} | "
      f"TSC {HZ / 1e9:.2f} GHz, no NIC (net_null), {ML} | measured here |")
w("| HDSLB | FullNAT, 64 B UDP | 10.3 Mpps; ~1 M new TCP conn/s | ~223 (driver included) | "
  "Xeon Platinum 8380 2.3 GHz, Intel E810 | published |")
w("| Katran | XDP (L4 LB, encapsulation) | 5.2 Mpps | 690 | - | published |")
w("| DPVS | (per worker) | 2.9 Mpps; 200 K conn/s | - | - | published |")
w("| IPVS (Linux kernel) | | 1.2 Mpps | - | - | published |")
w("")

# Profiles (scripts/bench --profile)
profs = sorted(f for f in os.listdir(out) if f.startswith("profile-") and f.endswith(".txt"))
if profs:
    w("## Where the worker's cycles go")
    w("")
    w("`perf record -F 2000 -e cpu-clock -t TID -- sleep 2.5` on the worker thread "
      "(`rte-worker-1`) of `dirigo-bench --no-baselines --reps 1 --duration 4 --only SCENARIO`, "
      "attached once the connections are established, so the set-up is left out "
      "(`scripts/bench --profile`; the VM exposes no hardware counters, so these are timer "
      "samples: where the time goes, not why), on the same memory as the main figures. Shares "
      "of the worker's samples by library and symbol, above 1%. The traffic "
      "generator is `FrameSource::fill` and `LoopClock::tick` (charged to the baselines alike in "
      "the timed runs); Debian's DPDK libraries carry no symbols without their -dbgsym "
      "packages, so their functions show as addresses in `librte_*.so` (`librte_net_null` is "
      "the PMD; the connection table is Dirigo's own, `dirigo::ct::ConnTable`).")
    w("")
    for f in profs:
        body = open(os.path.join(out, f)).read().rstrip()
        w(f"`{f[len('profile-'):-len('.txt')].replace('-', ' ')}`:")
        w("")
        w("```")
        w(body or "(no samples)")
        w("```")
        w("")

# Memory
if nohuge.get("memory"):
    w("## Memory per connection")
    w("")
    w("One 32-byte hot entry and 16-byte cold part plus their share of the index's 64-byte "
      "buckets (two keys per connection, docs/architecture.md \"The connection table\"). "
      "*Claimed* is "
      "`ConnTable::memory_bytes() / capacity`; *resident* is the growth of the process's resident "
      "memory when the table was created and once filled (all tables kept alive until all were "
      "measured).")
    w("")
    w("| connections | claimed B/conn | resident at creation B/conn | resident filled B/conn |")
    w("|---|---|---|---|")
    for m in nohuge["memory"]:
        w(f"| {m['conns']:,} | {m['bytes_per_conn']:.1f} | {m['rss_create_per_conn']:.1f} | "
          f"{m['rss_filled_per_conn']:.1f} |")
    w("")


def gb_table(title, data, note):
    if not data:
        return
    w(f"## {title}")
    w("")
    w(note)
    w("")
    w("| benchmark | items/s (M) | cycles/item | other counters |")
    w("|---|---|---|---|")
    for b in data.get("benchmarks", []):
        ips = b.get("items_per_second")
        other = ", ".join(f"{k}={v:g}" for k, v in b.items()
                          if k in ("bytes_per_conn", "hit_pct", "live_conns", "insert_failed",
                                   "ok", "ip_csum_ok"))
        w(f"| {b['name']} | {fmt(ips / 1e6 if ips else None, 2)} | "
          f"{fmt(b.get('cycles_per_pkt'))} | {other} |")
    w("")


gb_table("Micro-benchmarks: packet pipeline (pipeline_bench)", load("pipeline_bench.json"),
         "Parse and NAT rewrite of prebuilt 60-byte TCP frames, no EAL; the argument is the burst. "
         "cycles/item is TSC cycles over the whole loop (wall clock: it also counts time the "
         "machine took away).")
gb_table("Micro-benchmarks: connection table (conntrack_bench)", load("conntrack_bench.json"),
         "`ConnTable` (Table) and the rte_hash index it replaced (RteHash, kept as a reference "
         "over the same entries), both keys of every connection, capacity = occupancy + 64. "
         "Lookup: bursts of 32 keys with precomputed hashes, the hit's entry read; Zipf: "
         "Zipf(0.99) flows. SweepIdle: the bounded sweep with nothing to expire, per entry. "
         "Churn: insert 32 new, remove the 32 oldest. Insert: filling an empty table. Expire: a "
         "sweep removing every entry. Capped at 1M connections by scripts/bench.")

# Adaptive polling: cost under load (dirigo-bench) and idle CPU / wake-up latency (idle-bench).
idle = load("idle_bench.json")
busy1k, ad1k = scen(nohuge, "nat 1K uniform"), scen(nohuge, "nat 1K uniform adaptive")
if idle or ad1k:
    w("## Idle workers: adaptive polling")
    w("")
    w("`dataplane.poll = \"adaptive\"` (docs/configuration.md) lets an idle worker sleep between "
      "polls. Under load no loop is empty and the backoff never engages; its cost is the "
      "bookkeeping of each loop, measured on the same rig and traffic as `nat 1K uniform`, "
      "windows interleaved with the baselines:")
    w("")
    if busy1k and ad1k:
        w("| poll | cycles/pkt | vs macswap | spread | runs |")
        w("|---|---|---|---|---|")
        for label, s in (("busy", busy1k), ("adaptive", ad1k)):
            runs = ", ".join(f"{r['cycles_per_pkt']:.0f}" for r in s["runs"])
            w(f"| {label} | {fmt(s['cycles_per_pkt'])} | {pct(s['ratio_macswap'])} | "
              f"{fmt(s['spread_pct'], 0, '%')} | {runs} |")
        w("")
    if idle:
        w(f"`idle-bench`: the real worker on one lcore and a net_ring port. *idle CPU* is the "
          f"worker thread's CPU time over 1 s with no traffic; *wake* is the time from enqueuing "
          f"one ICMP echo request on the RX ring, after {idle.get('idle_ms', '?')} ms of silence, "
          f"to its reply on the TX ring (median, p99 and max of the wake-ups). On a quiet machine "
          f"the busy row is the floor (ring transfer and one burst of work); on a loaded one the "
          f"kernel preempts a busy poller like any thread (its idle CPU below 100% says how "
          f"much), and the tails of every row are the scheduler's.")
        w("")
        w("| poll | max_sleep_us | idle CPU | sleeps/s | wake median | wake p99 | wake max | "
          "wake-ups |")
        w("|---|---|---|---|---|---|---|---|")
        for m in idle["modes"]:
            w(f"| {m['poll']} | {m['max_sleep_us'] or '-'} | {m['idle_cpu_pct']:.1f}% | "
              f"{m['sleeps_per_s']:.0f} | {m['wake_median_us']:.1f} us | "
              f"{m['wake_p99_us']:.1f} us | {m['wake_max_us']:.1f} us | {m['wakeups']} |")
        w("")

# Sections written by hand (or by another tool) that this script keeps as they are: the
# connection-table notes.
KEPT = ("## Connection table",)
try:
    old = open(os.path.join(docs, "performance.md")).read().split("\n")
except OSError:
    old = []
keep, on = [], False
for line in old:
    if line.startswith("## "):
        on = line.startswith(KEPT)
    if on:
        keep.append(line)
if keep:
    lines.extend(keep)
    if keep[-1] != "":
        w("")

w("## How to reproduce")
w("")
w("```")
w("scripts/bench                         # everything, writes this page (~10-15 minutes)")
w("scripts/bench --profile               # and perf profiles of the worker")
w("build-rel/bench/dirigo-bench --huge --scale 1000000   # scaling alone (1 vs 2 workers)")
w("scripts/bench --quick                 # 0.25 s windows, up to 1M connections")
w("BUILD_DIR=build-x scripts/bench --no-docs --no-micro --only \"nat 1K\"   # before/after")
w("build-rel/bench/dirigo-bench --help")
w("```")
w("")
w("For a before/after comparison, alternate the two build directories (A, B, A, B, each with "
  "its own `--out`) and compare both the cycles and the ratios: on this shared machine the same "
  "build's `nat 1K uniform` has moved by 20% between two runs minutes apart while the spread "
  "within each run stayed under 5%, so one run of each is not enough to call a few percent.")
w("")
w("The benchmarks measure a release build (`build-rel/`, `--buildtype=release`, configured by "
  "scripts/bench when missing). Raw results in `build-rel/bench-results/` by default: "
  "`dirigo_bench_huge.json` and `dirigo_bench.json` (every run of every loop), "
  "`dirigo_bench_scale.json`, `testpmd-*.txt`, `profile-*.txt`, `pipeline_bench.json`, "
  "`conntrack_bench.json`, `idle_bench.json`, `machine.env`. `meson test --suite bench-smoke` runs "
  "`dirigo-bench --smoke` (checks that packets flow and no mbuf leaks, never a speed).")
with open(os.path.join(docs, "performance.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print(f"[bench] wrote {os.path.join(docs, 'performance.md')}" +
      (" and performance.png" if plotted else ""), file=sys.stderr)
