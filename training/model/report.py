"""The HTML report of a training run, for a product manager: figures (PNG, matplotlib Agg) and
tables in one ``index.html``.

1. Listening by genre for each gender and age band (why these questions are asked at signup).
2. hit@k of every model with 95 % intervals, and the lifts over the baselines.
3. Logistic-regression coefficients (features by genres): what each answer says.
4. LightGBM feature importance.
5. The per-segment table: who the model helps most and least.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from training.model.baselines import GLOBAL, RULE
from training.model.evaluation import METRICS

if TYPE_CHECKING:
    from training.model.stages import Result

LABELS = {
    "lightgbm": "LightGBM (new model)",
    "logistic": "Logistic regression",
    RULE: "Rule: most popular selected genre",
    GLOBAL: "Global popularity",
    "previous_model": "Previous model",
}
COLOURS = {
    "lightgbm": "#1b7837",
    "logistic": "#5aae61",
    RULE: "#2166ac",
    GLOBAL: "#999999",
    "previous_model": "#b2182b",
}


def _save(fig: Figure, path: Path) -> str:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path.name


def plot_listening(listening: Mapping[str, Any], path: Path) -> str:
    """Share of window plays by genre per gender and per age band; colour = index vs everyone."""
    genres = list(listening["genres"])
    dims = [d for d in ("gender", "age band") if listening.get(d)]
    rows_total = sum(len(listening[d]) for d in dims)
    fig, axes = plt.subplots(
        len(dims),
        1,
        figsize=(max(8, 0.55 * len(genres) + 3), 1.2 + 0.42 * rows_total + 1.2 * len(dims)),
        squeeze=False,
        gridspec_kw={"height_ratios": [len(listening[d]) for d in dims]},
    )
    for ax, dim in zip(axes[:, 0], dims, strict=True):
        table = listening[dim]
        plays = np.array([r["plays"] for r in table], dtype=np.float64)
        overall = plays.sum(axis=0) / max(plays.sum(), 1.0)
        share = plays / np.maximum(plays.sum(axis=1, keepdims=True), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            index = np.where(overall > 0, share / overall * 100, 100.0)
        image = ax.imshow(
            np.log2(np.clip(index, 12.5, 800) / 100),
            cmap="PuOr_r",
            vmin=-2,
            vmax=2,
            aspect="auto",
        )
        strong = np.abs(np.log2(np.clip(index, 12.5, 800) / 100)) > 1.2
        for i in range(share.shape[0]):
            for j in range(share.shape[1]):
                colour = "white" if strong[i, j] else "black"
                ax.text(
                    j, i, f"{share[i, j]:.0%}", ha="center", va="center", fontsize=7, color=colour
                )
        ax.set_yticks(range(len(table)))
        ax.set_yticklabels([f"{r['segment']} ({r['users']:,})" for r in table], fontsize=8)
        ax.set_xticks(range(len(genres)))
        ax.set_xticklabels(genres, rotation=45, ha="right", fontsize=8)
        ax.set_title(f"Share of second-month plays by genre, per {dim}", fontsize=10)
        cbar = fig.colorbar(image, ax=ax, fraction=0.025, pad=0.01)
        cbar.set_ticks([-2, -1, 0, 1, 2])
        cbar.set_ticklabels(["1/4x", "1/2x", "avg", "2x", "4x"])
        cbar.set_label("vs all listeners", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def plot_hits(
    metrics: Mapping[str, Mapping[str, float]],
    intervals: Mapping[str, Mapping[str, Sequence[float]]],
    path: Path,
) -> str:
    """Grouped bars: hit@1, hit@3, MRR per model with 95 % intervals."""
    names = [n for n in LABELS if n in metrics]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = [metrics[name][m] for m in METRICS]
        lo = [metrics[name][m] - intervals[name][m][0] for m in METRICS]
        hi = [intervals[name][m][1] - metrics[name][m] for m in METRICS]
        xs = np.arange(len(METRICS)) + (i - (len(names) - 1) / 2) * width
        ax.bar(
            xs,
            values,
            width,
            yerr=[lo, hi],
            capsize=3,
            label=LABELS[name],
            color=COLOURS[name],
        )
        for x, v in zip(xs, values, strict=True):
            ax.text(x, v + 0.01, f"{v:.2f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(METRICS)))
    ax.set_xticklabels(["hit@1 (top pick right)", "hit@3 (in top three)", "MRR"])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of test listeners")
    ax.set_title("How often the second-month top genre is among the recommendations")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return _save(fig, path)


def common_rows(
    names: Sequence[str],
    coverage: np.ndarray,
    per_question: int = 12,
    whole: tuple[str, ...] = ("selected_genres",),
) -> list[int]:
    """Rows to show: every answer of a question with few answers (and of ``whole``); for
    questions with many (regions, occupations), the ``per_question`` answers most users gave."""
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(name.split("=")[0].split(" ")[0], []).append(i)
    keep: list[int] = []
    for group, rows in groups.items():
        if group not in whole and len(rows) > per_question and len(coverage) == len(names):
            rows = sorted(rows, key=lambda i: -coverage[i])[:per_question]
        keep += rows
    return sorted(keep)


def plot_coefficients(
    coef: np.ndarray,
    names: Sequence[str],
    classes: Sequence[str],
    path: Path,
    coverage: np.ndarray | None = None,
    per_question: int = 12,
) -> str:
    """Heat map of logistic-regression coefficients, features (rows) by genres (columns)."""
    coef = np.asarray(coef, dtype=np.float64)
    if coef.shape[0] == 1:  # binary: sklearn keeps one row for the second class
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
    matrix = coef.T
    title = "Logistic regression: how each answer pushes each genre (red up, blue down)"
    keep = common_rows(names, np.zeros(0) if coverage is None else coverage, per_question)
    if len(keep) < len(names):
        title += f"\n(questions with many answers: their {per_question} most common answers)"
        matrix, names = matrix[keep], [names[i] for i in keep]
    limit = float(np.percentile(np.abs(matrix), 99)) or 1.0
    fig, ax = plt.subplots(figsize=(max(7, 0.5 * len(classes) + 4), 1.5 + 0.2 * len(names)))
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xticks(range(len(classes)))
    ax.set_xticklabels(classes, rotation=45, ha="right", fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.01, label="coefficient")
    fig.tight_layout()
    return _save(fig, path)


def importance_by_source(
    gains: np.ndarray, columns: Sequence[str], sources: Sequence[str]
) -> list[tuple[str, float]]:
    """Gain share per onboarding question (the multi-hot genres summed into one)."""
    totals: dict[str, float] = {}
    for gain, source in zip(gains, sources, strict=True):
        totals[source] = totals.get(source, 0.0) + float(gain)
    whole = sum(totals.values()) or 1.0
    return sorted(((k, v / whole) for k, v in totals.items()), key=lambda kv: -kv[1])


def plot_importance(
    gains: np.ndarray, columns: Sequence[str], sources: Sequence[str], path: Path
) -> str:
    """LightGBM gain importance: per question, and the top individual columns."""
    gains = np.asarray(gains, dtype=np.float64)
    share = gains / (gains.sum() or 1.0)
    by_source = importance_by_source(gains, columns, sources)
    order = [i for i in np.argsort(-share)[:20] if share[i] > 0] or [int(np.argmax(share))]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.5 + 0.3 * max(len(order), 8)))
    left.barh([k for k, _ in by_source][::-1], [v for _, v in by_source][::-1], color="#1b7837")
    left.set_title("Importance per question (share of gain)", fontsize=10)
    left.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    right.barh([columns[i] for i in order][::-1], share[order][::-1], color="#5aae61")
    right.set_title("Top features (share of gain)", fontsize=10)
    right.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    right.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return _save(fig, path)


# --- HTML ---------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:1em 0;font-size:0.85em}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f3f3f3} td.l,th.l{text-align:left}
.pass{color:#1b7837;font-weight:bold}.fail{color:#b2182b;font-weight:bold}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0}.note{color:#666;font-size:0.9em}
"""


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def _esc(text: Any) -> str:
    return html.escape(str(text))


def _lift_rows(result: Result) -> str:
    rows = []
    for lift in result.evaluation.lifts:
        rows.append(
            "<tr>"
            f"<td class=l>{_esc(LABELS.get(lift.model, lift.model))}</td>"
            f"<td class=l>{_esc(LABELS.get(lift.baseline, lift.baseline))}</td>"
            f"<td>{lift.metric}</td><td>{lift.model_value:.4f}</td>"
            f"<td>{lift.baseline_value:.4f}</td><td>{_pct(lift.lift, True)}</td>"
            f"<td>{_pct(lift.lift_low, True)} to {_pct(lift.lift_high, True)}</td></tr>"
        )
    head = (
        "<tr><th class=l>model</th><th class=l>over</th><th>metric</th><th>model</th>"
        "<th>baseline</th><th>lift</th><th>95% interval</th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _segment_rows(segments: Sequence[Mapping[str, Any]], models: Sequence[str]) -> str:
    head = "<tr><th class=l>question</th><th class=l>answer</th><th>test users</th>"
    head += "".join(f"<th>hit@3<br>{_esc(LABELS.get(m, m))}</th>" for m in models)
    head += "<th>LightGBM vs rule, hit@3</th><th>95% interval</th></tr>"
    rows = []
    for seg in segments:
        lift = seg["lift"]
        cells = "".join(f"<td>{_pct(seg['models'][m]['hit@3'])}</td>" for m in models)
        lo, hi = lift["lift_ci95"]
        rows.append(
            f"<tr><td class=l>{_esc(seg['dimension'])}</td><td class=l>{_esc(seg['segment'])}</td>"
            f"<td>{seg['n_users']:,}</td>{cells}<td>{_pct(lift['lift'], True)}</td>"
            f"<td>{_pct(lo, True)} to {_pct(hi, True)}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _figures(result: Result, out: Path) -> dict[str, str]:
    """Every figure of the page as a PNG in ``out``: name -> file name."""
    evaluated, fitted, data = result.evaluation, result.models, result.data
    coef, names, classes = fitted.logistic.coefficients()
    gains = fitted.lightgbm.booster.feature_importance(importance_type="gain")
    sources = [
        b.source if b.encoding not in ("count", "first") else b.column_names[0]
        for b in fitted.spec.blocks
        for _ in range(b.width)
    ]
    return {
        "listening": plot_listening(data.listening, out / "listening_by_segment.png"),
        "hits": plot_hits(evaluated.metrics, evaluated.intervals, out / "hit_at_k.png"),
        "coef": plot_coefficients(
            coef,
            names,
            [data.genres[int(c)] for c in classes],
            out / "logistic_coefficients.png",
            coverage=fitted.logistic.design.coverage,
        ),
        "importance": plot_importance(
            gains, fitted.spec.columns, sources, out / "lightgbm_importance.png"
        ),
    }


def _summary(result: Result) -> str:
    """The opening paragraph: the model's hit@3 and hit@1 against the rule and popularity."""
    evaluated, m = result.evaluation, result.evaluation.metrics
    rule_lift = next(
        (
            lf
            for lf in evaluated.lifts
            if (lf.model, lf.baseline, lf.metric) == ("lightgbm", RULE, "hit@3")
        ),
        None,
    )
    summary = (
        f"<p>For a listener who just signed up, the new model ranks the genres they will play "
        f"most in their second month (days {result.hp.window} after signup). Its top three "
        f"contain that genre for <b>{_pct(m['lightgbm']['hit@3'])}</b> of "
        f"{result.n_test:,} test listeners, against {_pct(m[RULE]['hit@3'])} for today's rule "
        f"(the most popular of the genres they selected) and {_pct(m[GLOBAL]['hit@3'])} for "
        f"the most popular genres overall"
    )
    if rule_lift is not None:
        summary += (
            f": a lift of <b>{_pct(rule_lift.lift, True)}</b> over the rule (95% interval "
            f"{_pct(rule_lift.lift_low, True)} to {_pct(rule_lift.lift_high, True)})"
        )
    return summary + (
        f". Its first pick is right for {_pct(m['lightgbm']['hit@1'])} "
        f"(rule: {_pct(m[RULE]['hit@1'])}).</p>"
    )


def _metrics_table(result: Result, models: Sequence[str]) -> str:
    """Each model's metrics with their 95 % intervals."""
    m, intervals = result.evaluation.metrics, result.evaluation.intervals
    rows = "".join(
        f"<tr><td class=l>{_esc(LABELS[n])}</td>"
        + "".join(
            f"<td>{m[n][k]:.4f}</td><td>{intervals[n][k][0]:.4f} to {intervals[n][k][1]:.4f}</td>"
            for k in METRICS
        )
        + "</tr>"
        for n in models
    )
    head = (
        "<tr><th class=l>model</th>"
        + "".join(f"<th>{k}</th><th>95% interval</th>" for k in METRICS)
        + "</tr>"
    )
    return f"<table>{head}{rows}</table>"


def write_report(result: Result, document: Mapping[str, Any], out_dir: str | Path) -> Path:
    """Write ``index.html`` and its PNG figures into ``out_dir``; return the page's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    models = [m for m in LABELS if m in result.evaluation.metrics]
    figures = _figures(result, out)
    data, dw = result.data, result.data.training_data
    gate_class = "pass" if result.gate.passed else "fail"
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>Onboarding model report {_esc(document.get("model_version", ""))}</title>
<style>{_CSS}</style></head><body>
<h1>Onboarding model: which genres will a new listener play?</h1>
<p class=note>Model {_esc(document.get("model_version", ""))}, created
{_esc(document.get("created_at", ""))}. Training users signed up
{_esc(dw["train_signups"][0])} to {_esc(dw["train_signups"][1])}; test users
{_esc(dw["test_signups"][0])} to {_esc(dw["test_signups"][1])} ({_esc(data.split.kind)} split).
Label: the genre with the most plays in days {result.hp.window} after signup, listeners with at
least {result.hp.min_plays} such plays ({data.labels.n_labelled:,} of
{data.labels.n_users:,}).</p>
{_summary(result)}
<p>Quality gate: <span class={gate_class}>{"PASSED" if result.gate.passed else "REJECTED"}</span>
&mdash; {_esc(result.gate.reason)}</p>

<h2>1. Do the signup answers tell us what people will listen to?</h2>
<p>Each cell is the share of a group's second-month plays that went to a genre; the colour
compares it with all listeners (orange: more than average, purple: less). Where rows differ,
the question is worth asking at signup.</p>
<img src="{figures["listening"]}" alt="listening by genre per gender and age band">

<h2>2. How well each approach does</h2>
<img src="{figures["hits"]}" alt="hit at k by model">
{_metrics_table(result, models)}
<h3>Lifts (paired bootstrap over test listeners, 95% intervals)</h3>
{_lift_rows(result)}

<h2>3. What the answers say about each genre (logistic regression)</h2>
<p>Red: the answer makes the genre more likely to be the listener's top genre; blue: less.
Numbers (age, counts) are standardised, so their coefficients are per standard deviation.</p>
<img src="{figures["coef"]}" alt="logistic regression coefficients">

<h2>4. What the LightGBM model relies on</h2>
<img src="{figures["importance"]}" alt="LightGBM feature importance">

<h2>5. Who it helps: results per segment of the test listeners</h2>
{_segment_rows(result.evaluation.segments, models)}
<p class=note>Hit@3 per model; the last columns give LightGBM's lift over the rule in each
segment with a 95% bootstrap interval. Small segments have wide intervals.</p>
</body></html>
"""
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
