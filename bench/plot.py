#!/usr/bin/env python3
"""Draws bench/results/*.json as PNG plots next to them (needs matplotlib:
`pip install matplotlib`)."""
import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

results = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "bench/results")


def foundation(data, out):
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    inbox = data.get("inbox")
    if inbox:
        names = ["first_page", "all_pages", "deep_pages_last_quarter"]
        for i, q in enumerate(["p50_ms", "p90_ms", "p99_ms"]):
            left.bar([x + i * 0.27 for x in range(len(names))], [inbox[n][q] for n in names], width=0.27, label=q)
        left.set_xticks([x + 0.27 for x in range(len(names))], ["first page", "all pages", "deepest quarter"])
        left.set_ylabel("ms per page of 50")
        left.set_title(f"inbox: {inbox['accounts_owned']} accounts, {inbox['dialogs_visible']} dialogs")
        left.legend()
    imp = data.get("import")
    if imp:
        right.bar(["accounts/s"], [imp["accounts_per_second"]], color="tab:green")
        right.set_title(f"import of {imp['accounts']} accounts: {imp['seconds']:.1f} s, peak {imp['peak_rss_mib']:.0f} MiB")
    fig.tight_layout()
    fig.savefig(out)


def pipeline(data, out):
    p = data["pipeline"]
    lat = p["enqueue_to_push"]
    fig, ax = plt.subplots(figsize=(6, 4))
    keys = ["p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"]
    ax.bar([k.replace("_ms", "") for k in keys], [lat[k] for k in keys], color="tab:blue")
    ax.set_ylabel("ms from enqueue to push")
    ax.set_title(f"ingest pipeline at {p['offered_rate']:.0f} msg/s offered: {p['messages_per_second']:.0f} msg/s stored")
    fig.tight_layout()
    fig.savefig(out)


def twin_legend(left, right):
    """One legend for two axes sharing x."""
    lines = left.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    left.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize=8)


def e2e(data, out):
    e = data["e2e"]
    fig, (flow, lat, res) = plt.subplots(1, 3, figsize=(17, 4.5))
    tl = e["timeline"]
    t = [s["t"] for s in tl]

    def rate(key):
        return [0] + [(b[key] - a[key]) / max(b["t"] - a["t"], 1e-3) for a, b in zip(tl, tl[1:])]

    for key, label in [("injected", "sent by customers"), ("published", "published by fleet"),
                       ("stored", "stored"), ("received", "received on WebSockets")]:
        flow.plot(t, rate(key), label=label)
    flow.set_xlabel("s since traffic start")
    flow.set_ylabel("messages/s")
    leaders = f" ({e['leaders']} leaders)" if e.get("leaders") else ""
    flow.set_title(f"{e['accounts']} accounts, {e['websockets']} agents{leaders}, {e['offered_rate']:.0f} msg/s offered")
    flow.legend(fontsize=8)
    by = e["latency_by_second"]
    for key in ["p50_ms", "p99_ms", "max_ms"]:
        lat.plot([b["t"] for b in by], [b[key] for b in by], label=key.replace("_ms", ""))
    lat.set_yscale("log")
    lat.set_xlabel("send second")
    lat.set_ylabel("ms from customer send to agent WebSocket")
    whole = e["latency_send_to_ws"]
    lat.set_title(f"latency: p50 {whole.get('p50_ms', 0):.0f} ms, p99 {whole.get('p99_ms', 0):.0f} ms")
    lat.legend(fontsize=8)
    res.plot(t, [s["rss_mib"] for s in tl], color="tab:purple", label="RSS MiB (one process)")
    res.set_ylabel("MiB")
    res.set_xlabel("s since traffic start")
    cpu = res.twinx()
    cpu.plot(t, [s["cpu_cores"] for s in tl], color="tab:red", label="CPU cores")
    cpu.plot(t, [s["queue_visible"] / 1000 for s in tl], color="tab:gray", label="updates queue depth (k)")
    cpu.set_ylabel("cores / queue depth (k)")
    d = e["delivery"]
    at_leaders = f", at leaders {d['received_by_leaders']}" if d.get("expected_at_leaders") else ""
    res.set_title(f"received {d['received_by_owner']}/{d['expected']}{at_leaders}, dup {d['duplicates']}, "
                  f"wrong owner {d['wrong_owner']}")
    twin_legend(res, cpu)
    fig.tight_layout()
    fig.savefig(out)


def sessions(data, out):
    s = data["sessions"]
    tl = s["timeline"]
    t = [x["t"] for x in tl]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(t, [x["online"] for x in tl], color="tab:green", label="sessions online")
    ax.set_xlabel("s since the fleet started")
    ax.set_ylabel("sessions online")
    mem = ax.twinx()
    mem.plot(t, [x["rss_mib"] for x in tl], color="tab:purple", label="fleet process RSS MiB")
    mem.plot(t, [x["sim_rss_mib"] for x in tl], color="tab:gray", label="tg-sim process RSS MiB")
    mem.set_ylabel("MiB")
    took = s["all_online_seconds"]
    ax.set_title(f"{s['online']} of {s['sessions']} sessions online in {took:.1f} s; "
                 f"fleet {s['fleet_kib_per_session']:.0f} KiB/session" if took else "not all sessions came online")
    twin_legend(ax, mem)
    fig.tight_layout()
    fig.savefig(out)


for path in sorted(results.glob("*.json")):
    data = json.loads(path.read_text())
    kind = next((k for k in ("e2e", "sessions", "pipeline") if path.stem.startswith(k)), path.stem)
    draw = {"foundation": foundation, "pipeline": pipeline, "e2e": e2e, "sessions": sessions}.get(kind)
    if draw:
        draw(data, path.with_suffix(".png"))
        print(f"wrote {path.with_suffix('.png')}")
