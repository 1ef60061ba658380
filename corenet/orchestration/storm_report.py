"""The report of a re-attach storm, drawn for a person reading it after the run.

`write_report` writes into one folder (by default `./storm-<UTC timestamp>/`, see
`default_out_dir`):

- `storm.json`: the KPIs, the per-second series and the roamers that never attached;
- `storm.png`, one panel per question, on a shared time axis:
  1. how many roamers are attached (cumulative curve, the total and t50/t90/t99 marked);
  2. what the MMEs saw each second (attach attempts that passed the barring check, successes);
  3. what the barring held back (barred accesses per second, on their own axis, with the
     ac-BarringFactor of TS 36.331 §6.3.1 in effect);
  4. the home HSS load (AIR/s) against its capacity line;
  and, under them, the roamers that never attached counted by their last cause;
- `storm-latency.png`: attach latency by percentile (Attach Request to Accept or Reject);
- `never-attached.csv`: one line per roamer that never attached: IMSI, last EMM cause, reason.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol


class StormRun(Protocol):
    """What the report reads of a run (corenet.orchestration.storm.StormResult)."""

    cfg: Any
    schedule: str
    attached_at: list[float]

    def to_json(self) -> dict[str, Any]: ...

    def percentile(self, q: float) -> float | None: ...


def default_out_dir(now: datetime | None = None) -> str:
    """`./storm-<UTC timestamp>/`, e.g. storm-20261205T063000Z (a new folder per run)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"storm-{stamp}"


def last_cause(row: dict[str, Any]) -> str:
    """How the table and the plot name a roamer's last outcome: the EMM cause when the
    network gave one (TS 24.301 §9.9.3.9), else what the UE noted."""
    if row.get("cause") is not None:
        return f"#{row['cause']}"
    return row.get("reason") or "no attempt completed"


def write_report(res: StormRun, out_dir: str) -> dict[str, str]:
    """Write the report files into `out_dir` (created); returns their paths by kind
    ("folder", "json", "png", "latency_png", "never_attached_csv")."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"folder": str(out), "json": str(out / "storm.json"), "png": str(out / "storm.png"),
             "latency_png": str(out / "storm-latency.png"),
             "never_attached_csv": str(out / "never-attached.csv")}
    data = res.to_json()
    Path(paths["json"]).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    with open(paths["never_attached_csv"], "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["imsi", "last_cause", "reason"])
        for row in data["never_attached"]:
            writer.writerow([row["imsi"], row["cause"] if row["cause"] is not None else "",
                             row["reason"] or ""])
    _storm_png(res, data, paths["png"])
    _latency_png(res, paths["latency_png"])
    return paths


def _storm_png(res: StormRun, data: dict[str, Any], path: str) -> None:
    import matplotlib.pyplot as plt

    fig = storm_figure(res, data)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def storm_figure(res: StormRun, data: dict[str, Any]) -> Any:
    """The matplotlib Figure of storm.png (module docstring), on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per = data["per_second"]
    t = [p["t"] for p in per]
    total = res.cfg.ues
    fig = plt.figure(figsize=(11, 13))
    grid = fig.add_gridspec(5, 1, height_ratios=[3, 2, 2, 2, 1.3])
    axes = [fig.add_subplot(grid[0])]
    axes += [fig.add_subplot(grid[i], sharex=axes[0]) for i in range(1, 4)]
    fig.suptitle(f"Re-attach storm: {total} roaming UEs, {res.cfg.rescuers} rescuer(s), "
                 f"release {res.schedule}")

    ax = axes[0]
    times = [0.0, *res.attached_at]
    ax.step(times, range(len(times)), where="post", color="tab:blue", label="roamers attached")
    ax.axhline(total, color="grey", linestyle=":", label=f"all {total} roamers")
    for key, style in (("t50_s", "--"), ("t90_s", "-."), ("t99_s", ":")):
        if data.get(key) is not None:
            ax.axvline(data[key], color="tab:blue", linestyle=style, alpha=0.6,
                       label=f"{key[:-2]} = {data[key]:g} s")
    ax.set_ylim(0, total * 1.05)
    ax.set_ylabel("UEs attached\n(cumulative)")
    ax.set_title(f"{data['attached']} of {total} attached", loc="left", fontsize=10)
    ax.legend(loc="lower right")

    ax = axes[1]
    ax.step(t, [p["attempts"] for p in per], where="post", color="tab:orange",
            label="Attach Requests sent (passed the barring check)")
    ax.step(t, [p["successes"] for p in per], where="post", color="tab:green",
            label="attach successes")
    ax.step(t, [p["failures"] for p in per], where="post", color="tab:red", alpha=0.7,
            label="attach failures")
    ax.set_ylabel("attaches\nper second")
    ax.legend(loc="upper right")

    ax = axes[2]
    ax.bar(t, [p["barred"] for p in per], width=1.0, align="edge", color="tab:grey",
           label="accesses barred (TS 36.331 §5.3.3.11)")
    ax.set_ylabel("barred accesses\nper second")
    factor_ax = ax.twinx()
    factor_ax.step(t, [p["factor"] for p in per], where="post", color="tab:purple",
                   label="ac-BarringFactor (1.0 = lifted)")
    factor_ax.set_ylim(-0.05, 1.05)
    factor_ax.set_ylabel("ac-BarringFactor")
    handles = ax.get_legend_handles_labels()
    more = factor_ax.get_legend_handles_labels()
    ax.legend(handles[0] + more[0], handles[1] + more[1], loc="upper right")

    ax = axes[3]
    capacity = res.cfg.hss_capacity_air_per_s
    ax.step(t, [p["air"] for p in per], where="post", color="tab:red", label="home HSS AIR/s")
    ax.axhline(capacity, color="black", linestyle="--",
               label=f"HSS capacity {capacity:g} AIR/s")
    ax.set_ylim(0, 1.25 * max(capacity, data["peak_air_per_s"], 1))
    ax.set_ylabel("AIR/s")
    ax.set_xlabel("seconds since the rescuers opened")
    ax.legend(loc="upper right")
    for a in axes:
        a.grid(alpha=0.3)

    text_ax = fig.add_subplot(grid[4])
    text_ax.axis("off")
    text_ax.text(0.0, 1.0, _never_attached_text(data["never_attached"]), va="top",
                 family="monospace", fontsize=9, transform=text_ax.transAxes)
    fig.tight_layout()
    return fig


def _never_attached_text(rows: list[dict[str, Any]], shown: int = 6) -> str:
    if not rows:
        return "Every roamer attached."
    by_cause = Counter(last_cause(r) for r in rows)
    lines = [f"{len(rows)} roamer(s) never attached; by last cause (full list: "
             "never-attached.csv):"]
    lines += [f"  {cause}: {n}" for cause, n in by_cause.most_common(4)]
    if len(by_cause) > 4:
        lines.append(f"  ... {len(by_cause) - 4} other cause(s)")
    lines.append("  " + ", ".join(f"{r['imsi']} ({last_cause(r)})" for r in rows[:shown])
                 + (" ..." if len(rows) > shown else ""))
    return "\n".join(lines)


def _latency_png(res: StormRun, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    qs = [i / 100 for i in range(1, 100)]
    lat = [res.percentile(q) for q in qs]
    ax.plot([q * 100 for q in qs], [v if v is not None else float("nan") for v in lat])
    ax.set_xlabel("percentile")
    ax.set_ylabel("attach latency (s)")
    ax.set_title("Attach latency (Attach Request to Accept or Reject)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
