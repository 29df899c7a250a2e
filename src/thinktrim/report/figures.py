"""`--png DIR`: the report's charts as PNG files (matplotlib), drawn from the same data as the page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from thinktrim.data.paths import safe_file_name
from thinktrim.errors import UserError

DPI = 200


def _slug(name: str) -> str:
    """A run's name (a folder name, or what stats.json says) as the start of its charts' file names."""
    return safe_file_name(re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_"), "run")


def _axes(width: float = 6.4, height: float = 3.6) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9.5, "axes.spines.top": False, "axes.spines.right": False,
                         "axes.titlesize": 11, "axes.titleweight": "bold", "axes.titlelocation": "left"})
    return plt.subplots(figsize=(width, height), layout="constrained")


def prepare_folder(folder: Path) -> None:
    """Make the --png folder and prove a file can be written there, before anything else is written: a report
    whose figures then fail would leave the HTML behind and the command failed. UserError naming --png."""
    import tempfile

    where = f"--png {folder}"
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{where}: is a file; give a folder for the PNG figures")
    blocking = next((p for p in folder.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UserError(f"{where}: {blocking} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as e:
        raise UserError(f"{where}: cannot write there ({e.strerror or e})") from None


def _save(fig: Any, path: Path, written: list[Path]) -> None:
    import matplotlib.pyplot as plt

    try:
        fig.savefig(path, dpi=DPI)
    except OSError as e:
        raise UserError(f"--png: cannot write {path} ({e.strerror or e})") from None
    finally:
        plt.close(fig)
    written.append(path)


def token_share(run: dict[str, Any], style: dict[str, Any], path: Path, written: list[Path]) -> None:
    kinds = style["kinds"]
    rows = [(run["name"], run["token_share"])] + [(f"{n} (paper)", v) for n, v in style["paperShares"].items()]
    fig, ax = _axes(6.4, 1.1 + 0.45 * len(rows))
    for i, (_, shares) in enumerate(rows):
        left = 0.0
        for k in kinds:
            v = shares.get(k, 0.0)
            ax.barh(i, v, left=left, color=style["kindColours"][k], edgecolor="white",
                    label=style["kindLabels"][k] if i == 0 else None, alpha=1 if i == 0 else 0.8)
            if v > 0.06:
                ax.text(left + v / 2, i, f"{100 * v:.1f}", ha="center", va="center", color="white", fontsize=8.5,
                        fontweight="bold")
            left += v
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f} %")
    ax.set_title("Token share by step kind")
    ax.legend(ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False, fontsize=8.5)
    _save(fig, path, written)


def token_reduction(run: dict[str, Any], style: dict[str, Any], path: Path, written: list[Path]) -> None:
    fig, ax = _axes()
    paper = style["paperReduction"]
    ax.plot([p[0] for p in paper], [p[1] for p in paper], "--o", color="#5d6677", mfc="white", label="LIMO (paper)")
    xs = [0.0] + [r["ratio"] for r in run["per_ratio"]]
    ys = [0.0] + [r["token_reduction"] for r in run["per_ratio"]]
    ax.plot(xs, ys, "-o", color="#D55E00", lw=2.2, label=run["name"])
    for x, y in zip(xs[1:], ys[1:]):
        ax.annotate(f"{100 * y:.1f} %", (x, y), textcoords="offset points", xytext=(0, 7), ha="center",
                    fontweight="bold")
    ax.set_xlabel("pruning ratio")
    ax.set_ylabel("thinking tokens removed")
    ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f} %")
    ax.set_ylim(bottom=0)
    ax.set_title("Token reduction by pruning ratio")
    ax.legend(frameon=False)
    _save(fig, path, written)


def units_removed(run: dict[str, Any], style: dict[str, Any], path: Path, written: list[Path]) -> None:
    kinds = style["kinds"][1:]
    fig, ax = _axes()
    width = 0.78 / len(kinds)
    for j, k in enumerate(kinds):
        xs = [i - 0.39 + (j + 0.5) * width for i in range(len(run["per_ratio"]))]
        total = (run["functional_units"] or {}).get(k, 0)
        ax.bar(xs, [total] * len(xs), width * 0.92, fill=False, edgecolor=style["kindColours"][k], ls="--")
        vals = [r["units_removed"].get(k, 0) for r in run["per_ratio"]]
        bars = ax.bar(xs, vals, width * 0.92, color=style["kindColours"][k], label=style["kindLabels"][k])
        ax.bar_label(bars, fontsize=8)
    ax.set_xticks(range(len(run["per_ratio"])), [f"ratio {r['ratio']}" for r in run["per_ratio"]])
    ax.set_ylabel("functional units")
    ax.set_title("Units removed (filled) of all scored units (dashed)")
    ax.legend(frameon=False)
    _save(fig, path, written)


def pir_distribution(run: dict[str, Any], style: dict[str, Any], path: Path, written: list[Path]) -> None:
    kinds = [k for k in style["kinds"][1:] if run["pir"].get(k, {}).get("n")]
    if not kinds:
        return
    fig, ax = _axes(6.4, 1.2 + 0.8 * len(kinds))
    from matplotlib.colors import to_rgba
    from matplotlib.patches import Rectangle

    for i, k in enumerate(kinds):
        p = run["pir"][k]
        pts = p["points"]
        jitter = [(((j * 7919) % 97) / 97 - 0.5) * 0.4 for j in range(len(pts))]
        ax.scatter(pts, [i + d for d in jitter], s=6, color=style["kindColours"][k], alpha=0.45, lw=0)
        mn, q1, md, q3, mx = p["quantiles"]
        ax.hlines(i, mn, mx, color="#1d2330", lw=1)
        ax.add_patch(Rectangle((q1, i - 0.25), q3 - q1, 0.5, facecolor=to_rgba(style["kindColours"][k], 0.35),
                               edgecolor="#1d2330"))
        ax.vlines(md, i - 0.25, i + 0.25, color="#1d2330", lw=2.2)
    ax.axvline(0, color="#1d2330", lw=0.8, ls=":")
    ax.set_yticks(range(len(kinds)), [f"{style['kindLabels'][k]}\n{run['pir'][k]['n']} units" for k in kinds])
    ax.invert_yaxis()
    ax.set_xlabel("PIR (nats per answer token)")
    ax.set_title("PIR by step kind")
    _save(fig, path, written)


def eval_scatter(ev: dict[str, Any], path: Path, written: list[Path]) -> None:
    fig, ax = _axes(6.4, 4.0)
    pts = ev["scatter"]
    x1 = max([p["x"] for p in pts] + [1]) * 1.15
    y1 = min(1.0, max([p["y"] for p in pts] + [0.1]) * 1.2)
    for e in ev["iso_eff"]:
        end = min(x1, y1 / e)  # where the ray leaves the plot
        ax.plot([0, end], [0, e * end], ls="--", lw=0.8, color="#9aa2b0")
        ax.annotate(f"EFF {e:.0e}".replace("e-0", "e-"), (0.96 * end, 0.96 * e * end), fontsize=7.5,
                    color="#8a93a3", ha="right", va="bottom")
    for p in pts:
        ax.scatter(p["x"], p["y"], s=80, color=p["colour"], edgecolor="white", zorder=3)
        ax.annotate(p["run"], (p["x"], p["y"]), textcoords="offset points", xytext=(8, 4), fontweight="bold")
    ax.set_xlim(0, x1)
    ax.set_ylim(0, y1)
    ax.set_xlabel("mean output tokens (TOK)")
    ax.set_ylabel("accuracy (ACC)")
    ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f} %")
    ax.set_title("Accuracy against output tokens")
    ax.text(0.99, 0.02, "dashed rays: equal EFF = ACC / TOK", transform=ax.transAxes, ha="right", fontsize=8,
            color="#5d6677")
    _save(fig, path, written)


def length_quartiles(ev: dict[str, Any], path: Path, written: list[Path]) -> None:
    runs = [r for r in ev["runs"] if ev["quartiles"].get(r["name"])]
    if not runs:
        return
    fig, ax = _axes()
    width = 0.78 / len(runs)
    for j, r in enumerate(runs):
        qs = {q["q"]: q["acc"] for q in ev["quartiles"][r["name"]]}
        xs = [q - 1 - 0.39 + (j + 0.5) * width for q in range(1, 5)]
        ax.bar(xs, [qs.get(q, 0) for q in range(1, 5)], width * 0.92, color=r["colour"], label=r["name"])
    ax.set_xticks(range(4), ["Q1 (shortest)", "Q2", "Q3", "Q4 (longest)"])
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(lambda v, _: f"{100 * v:.0f} %")
    ax.set_ylabel("accuracy")
    ax.set_title("Accuracy by output-length quartile")
    ax.legend(frameon=False)
    _save(fig, path, written)


def loss_curves(parts: list[dict[str, Any]], path: Path, written: list[Path]) -> None:
    """Every train run's loss by optimizer step on one chart (dots only on short runs, as on the page)."""
    curves = [p["curve"] for p in parts if p.get("curve") and p["curve"]["points"]]
    if not curves:
        return
    fig, ax = _axes()
    many = any(len(c["points"]) > 60 for c in curves)
    for c in curves:
        ax.plot([x for x, _ in c["points"]], [y for _, y in c["points"]], "-" if many else "-o", color=c["colour"],
                lw=2, ms=4, label=c["name"])
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.set_title("Training loss")
    ax.legend(frameon=False)
    _save(fig, path, written)


def curate_funnel(part: dict[str, Any], path: Path, written: list[Path]) -> None:
    """Curate's steps top to bottom as a funnel: problems in (grey) and out (blue) of each, with its drops by
    reason written beside the bar."""
    funnel = part.get("funnel") or []
    if not funnel:
        return
    fig, ax = _axes(6.4, 1.0 + 0.42 * len(funnel))
    ys = range(len(funnel))
    top = max(max(s["in"], s["out"]) for s in funnel) or 1
    ax.barh(ys, [s["in"] for s in funnel], 0.72, color="#d5d9e0", label="in")
    ax.barh(ys, [s["out"] for s in funnel], 0.72, color="#0072B2", label="out (kept)")
    for y, s in zip(ys, funnel):
        reasons = "; ".join(f"−{n} {r}" for r, n in s["dropped"].items())
        ax.text(max(s["in"], s["out"]) + 0.015 * top, y, f"{s['out']:,}" + (f"  ({reasons})" if reasons else ""),
                va="center", fontsize=8, color="#8a2f00" if reasons else "#1d2330")
    ax.set_yticks(list(ys), [s["step"] for s in funnel])
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.9)  # room for the reasons
    ax.set_xlabel("problems (read: records in, problems out)")
    ax.set_title(f"Curation funnel: {part['name']}")
    ax.legend(frameon=False, loc="lower right")
    _save(fig, path, written)


def write_figures(folder: Path, data: dict[str, Any]) -> list[Path]:
    """Every chart of the page with data behind it, one PNG each; returns the files written."""
    prepare_folder(folder)
    style, written = data["style"], []
    for run in data["refine"]:
        name = _slug(run["name"])
        if run["token_share"]:
            token_share(run, style, folder / f"{name}_token_share.png", written)
        if run["per_ratio"]:
            token_reduction(run, style, folder / f"{name}_token_reduction.png", written)
            units_removed(run, style, folder / f"{name}_units_removed.png", written)
        pir_distribution(run, style, folder / f"{name}_pir.png", written)
    if data["eval"]:
        eval_scatter(data["eval"], folder / "eval_scatter.png", written)
        length_quartiles(data["eval"], folder / "eval_length_quartiles.png", written)
    loss_curves(data.get("train") or [], folder / "train_loss.png", written)
    for part in data.get("curate") or []:
        curate_funnel(part, folder / f"{_slug(part['name'])}_curate_funnel.png", written)
    return written
