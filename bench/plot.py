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


for path in sorted(results.glob("*.json")):
    data = json.loads(path.read_text())
    draw = {"foundation": foundation, "pipeline": pipeline}.get(path.stem)
    if draw:
        draw(data, path.with_suffix(".png"))
        print(f"wrote {path.with_suffix('.png')}")
