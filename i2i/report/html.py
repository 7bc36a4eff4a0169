"""The report page: one self-contained HTML file (inline CSS, SVG charts, images as data URIs, a few lines of
inline script for the sample slider). A Content-Security-Policy forbids every request, so opening it offline
shows everything, and nothing can phone home."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import cv2
import yaml

from ..images import encode_image, read_image
from .runs import RunData, flatten
from .svg import PALETTE, Series, line_chart, smooth, wants_log

MAX_SAMPLES = 24  # sample grids kept per run (evenly spaced, first and last included)
SAMPLE_WIDTH = 720  # pixels: grids are scaled down to this width and stored as JPEG
EVAL_METRICS = ("FID", "KID", "LPIPS", "PSNR", "SSIM")

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1440px;color:#222;
padding:0 16px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:14px;margin:6px 0}.sub{color:#666;margin-top:0}
.charts{display:flex;flex-wrap:wrap;gap:14px}
.figure{border:1px solid #e3e3e3;border-radius:6px;padding:8px;background:#fff}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}
th{background:#f6f6f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:10px;font-size:12px;overflow:auto;max-height:480px}
.slider input{width:min(720px,100%)}.slider img{display:block;max-width:100%;margin-top:6px;border:1px solid #ddd}
.slider img[hidden]{display:none}.samples{display:flex;flex-wrap:wrap;gap:14px}.note{color:#666;font-size:12px}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
"""

SCRIPT = """
document.querySelectorAll('.slider').forEach(function (box) {
  var images = box.querySelectorAll('img'), label = box.querySelector('.step'), range = box.querySelector('input');
  function show(index) {
    images.forEach(function (image, k) { image.hidden = k !== index; });
    label.textContent = 'step ' + images[index].getAttribute('data-step');
  }
  range.addEventListener('input', function () { show(Number(range.value)); });
  show(Number(range.value));
});
"""

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str]]) -> str:
    """The whole document: title, subtitle, then (heading, HTML) sections."""
    body = "".join(f'<section><h2>{escape(h)}</h2>{content}</section>' for h, content in sections if content)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)}</title><style>{STYLE}</style></head><body>'
            f'<h1>{escape(title)}</h1><p class="sub">{escape(subtitle)}</p>{body}'
            f'<script>{SCRIPT}</script></body></html>\n')


def figure(title: str, svg: str) -> str:
    return f'<div class="figure"><h3>{escape(title)}</h3>{svg}</div>'


def charts(figures: Sequence[str]) -> str:
    return f'<div class="charts">{"".join(figures)}</div>' if figures else ""


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An HTML table; numbers are right-aligned."""
    def cell(value: Any) -> str:
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        return f'<td class="num">{escape(str(value))}</td>' if numeric else f"<td>{escape(str(value))}</td>"

    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(f"<tr>{''.join(cell(v) for v in row)}</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image_uri(path: Path, width: int = SAMPLE_WIDTH) -> str | None:
    """A sample grid scaled down to ``width`` as a JPEG data URI (None when the file cannot be read)."""
    try:
        image = read_image(path, 3)
    except Exception:  # a grid being written or damaged: the report shows the others
        return None
    h, w = image.shape[:2]
    if w > width:
        image = cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return "data:image/jpeg;base64," + base64.b64encode(encode_image(image, ".jpg", 82)).decode("ascii")


def pick(items: Sequence[Any], count: int) -> list[Any]:
    """At most ``count`` items, evenly spaced, keeping the first and the last."""
    if len(items) <= count:
        return list(items)
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]


def slider(run: RunData) -> str:
    """The run's sample grids over time, one at a time, chosen with a slider (the latest shown first)."""
    shown = [(step, uri) for step, path in pick(run.samples, MAX_SAMPLES) if (uri := image_uri(path))]
    if not shown:
        return ""
    images = "".join(f'<img src="{uri}" data-step="{step}" alt="samples at step {step}"'
                     f'{"" if k == len(shown) - 1 else " hidden"}>' for k, (step, uri) in enumerate(shown))
    last = len(shown) - 1
    return (f'<div class="slider"><input type="range" min="0" max="{last}" value="{last}" aria-label="step"> '
            f'<span class="step">step {shown[-1][0]}</span>{images}</div>'
            f'<p class="note">{len(shown)} of {len(run.samples)} sample grids (columns as the task shows them: '
            'input, output, target, ...).</p>')


# --- charts of one run --------------------------------------------------------------------------------------------
def loss_groups(names: Sequence[str]) -> dict[str, list[str]]:
    """Loss names grouped by network, by their prefix: G_GAN, G_L1 -> G; D_A, D_B -> D; cycle_A -> cycle."""
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(name.split("_")[0], []).append(name)
    return groups


def loss_figures(run: RunData) -> list[str]:
    """Per network: each loss raw (faint) and smoothed; log scale where the values span decades."""
    series = run.series("train")
    figures = []
    for group, names in loss_groups(list(series)).items():
        curves: list[Series] = []
        for k, name in enumerate(names):
            steps, values = series[name]
            color = PALETTE[k % len(PALETTE)]
            curves.append(Series(name, steps, values, color, 1.0, 0.3, legend=False))
            curves.append(Series(name, steps, smooth(values), color, 2.0))
        figures.append(figure(f"losses: {group}", line_chart(curves, f"losses {group}")))
    return figures


def metric_figures(run: RunData, kind: str, prefix: str) -> list[str]:
    """One chart per metric of ``kind`` records ('val', 'eval'); KID with its standard deviation as a band."""
    series = run.series(kind)
    figures = []
    for name, (steps, values) in series.items():
        if name.startswith("KID_std"):
            continue
        band = None
        std_name = name.replace("KID", "KID_std", 1) if name.startswith("KID") else ""
        if std_name in series and len(series[std_name][1]) == len(values):
            band = [(v - s, v + s) for v, s in zip(values, series[std_name][1], strict=True)]
        svg = line_chart([Series(name, steps, values, PALETTE[0], 2.0, band=band, legend=False)], f"{prefix}{name}",
                         log_y=False)
        figures.append(figure(f"{prefix}{name}", svg))
    return figures


def schedule_figures(run: RunData) -> tuple[list[str], list[str]]:
    """(learning rate, images per second) charts."""
    steps, lr = run.column("train", "lr")
    lr_figs = [figure("learning rate", line_chart([Series("lr", steps, lr, legend=False)], "learning rate",
                                                  log_y=False))] if lr else []
    steps, rate = run.column("train", "steps_per_s")
    batch = _batch_size(run)
    speed = [figure(f"images/s (batch {batch})", line_chart([Series("images/s", steps, [r * batch for r in rate],
                                                                    PALETTE[2], legend=False)],
                                                            "images per second", log_y=False))] if rate else []
    return lr_figs, speed


def _batch_size(run: RunData) -> int:
    value = run.config.get("optim", {}).get("batch_size", 1) if isinstance(run.config.get("optim"), dict) else 1
    return int(value) if isinstance(value, int) else 1


# --- evaluation tables --------------------------------------------------------------------------------------------
def _fmt(value: Any, name: str) -> Any:
    if isinstance(value, str):
        return value
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return "-"
    return round(value, 2) if name in ("FID", "PSNR") else round(value, 4)


def evaluation_rows(run: RunData, with_run: bool = False) -> list[list[Any]]:
    """Rows of the evaluations recorded by ``i2i eval`` and of the last evaluation during training."""
    rows = []
    for entry in run.evaluations:
        for score in entry.get("scores", []):
            metrics = score.get("metrics", {})
            title = score.get("name", "")
            if score.get("direction"):
                title += f" ({score['direction']})"
            row = [entry.get("step", "-"), f"i2i eval, {entry.get('split') or 'folder'}", title,
                   f"{score.get('images', '?')}/{score.get('references', '?')}"]
            row += [_kid(metrics) if m == "KID" else _fmt(metrics.get(m, "-"), m) for m in EVAL_METRICS]
            rows.append(([run.name] if with_run else []) + row)
    logged = run.records.get("eval", [])
    if logged:
        last = logged[-1]
        names = sorted({k.split("_", 1)[1] for k in last if k.startswith("FID_")}) or [""]
        for name in names:
            suffix = f"_{name}" if name else ""
            metrics = {m: last.get(f"{m}{suffix}") for m in (*EVAL_METRICS, "KID_std")}
            row = [last["step"], "--eval-every, validation images", name or "-", "-"]
            row += [_kid(metrics) if m == "KID" else _fmt(metrics.get(m), m) for m in EVAL_METRICS]
            rows.append(([run.name] if with_run else []) + row)
    return rows


def _kid(metrics: dict[str, Any]) -> str:
    mean, std = metrics.get("KID"), metrics.get("KID_std")
    if not isinstance(mean, (int, float)):
        return "-"
    return f"{mean:.4f} ± {std:.4f}" if isinstance(std, (int, float)) else f"{mean:.4f}"


EVAL_HEADER = ["step", "how", "generator", "images/refs", *EVAL_METRICS]


def evaluation_section(runs: Sequence[RunData]) -> str:
    several = len(runs) > 1
    rows = [row for run in runs for row in evaluation_rows(run, several)]
    if not rows:
        return ('<p class="note">No evaluation yet: <code>i2i eval RUN</code> scores the latest checkpoint, and '
                '<code>--eval-every N</code> scores during training.</p>')
    variant = next((e.get("settings", {}).get("fid") for run in runs for e in run.evaluations), None)
    note = f'<p class="note">FID/KID: {escape(variant)}.</p>' if variant else ""
    return table((["run"] if several else []) + EVAL_HEADER, rows) + note


def environment_rows(run: RunData) -> list[list[Any]]:
    duration = run.duration()
    rows = [["training time (logged steps)", _hms(duration["training_s"])],
            ["wall clock, first to last record", _hms(duration["span_s"])]]
    rows += [[key, value] for key, value in run.environment.items()]
    return rows


def _hms(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}h {seconds // 60 % 60:02d}m {seconds % 60:02d}s"


def config_text(run: RunData) -> str:
    return f"<pre>{escape(yaml.safe_dump(run.config, sort_keys=False) if run.config else '(no config.yaml)')}</pre>"


def summary(run: RunData) -> str:
    train = run.records.get("train", [])
    last = train[-1] if train else {}
    task = run.config.get("task", "?")
    return (f"{task} run in {run.path}; {len(train)} log records, last at step {last.get('step', 0)} "
            f"(epoch {last.get('epoch', 0) + 1 if train else 0})")


def single(run: RunData) -> str:
    """The report of one run."""
    lr, speed = schedule_figures(run)
    sections = [
        ("Evaluation", evaluation_section([run])),
        ("Losses", charts(loss_figures(run))),
        ("Learning rate and speed", charts(lr + speed)),
        ("Validation", charts(metric_figures(run, "val", "validation ")) or '<p class="note">No validation split.</p>'),
        ("FID and KID during training", charts(metric_figures(run, "eval", ""))),
        ("Samples", slider(run) or '<p class="note">No sample grids yet.</p>'),
        ("Configuration", config_text(run)),
        ("Machine, versions and duration", table(["", ""], environment_rows(run))),
    ]
    return page(f"i2i report: {run.name}", summary(run), sections)


# --- several runs -------------------------------------------------------------------------------------------------
def overlaid(runs: Sequence[RunData], kind: str, smooth_values: bool, prefix: str) -> list[str]:
    """One chart per metric of ``kind``, every run a colour."""
    names: list[str] = []
    for run in runs:
        names += [n for n in run.series(kind) if n not in names and not n.startswith("KID_std")]
    figures = []
    for name in names:
        curves = []
        for k, run in enumerate(runs):
            steps, values = run.series(kind).get(name, ([], []))
            if steps:
                curves.append(Series(run.name, steps, smooth(values) if smooth_values else values,
                                     PALETTE[k % len(PALETTE)], 2.0))
        log = wants_log([v for c in curves for v in c.ys]) if kind == "train" else False
        figures.append(figure(f"{prefix}{name}", line_chart(curves, f"{prefix}{name}", log_y=log)))
    return figures


def config_differences(runs: Sequence[RunData]) -> str:
    flat = [flatten(run.config) for run in runs]
    keys = sorted({k for f in flat for k in f})
    differing = [k for k in keys if len({repr(f.get(k, "-")) for f in flat}) > 1]
    if not differing:
        return '<p class="note">The runs have the same configuration.</p>'
    return table(["option", *[run.name for run in runs]], [[k, *[f.get(k, "-") for f in flat]] for k in differing])


def several(runs: Sequence[RunData]) -> str:
    """The report comparing runs: config differences, evaluations, every curve overlaid, the latest samples."""
    legend = "".join(f'<span class="swatch" style="background:{PALETTE[k % len(PALETTE)]}"></span>'
                     f"{escape(run.name)} &nbsp; " for k, run in enumerate(runs))
    samples = "".join(f'<div class="figure"><h3>{escape(run.name)}</h3>{slider(run)}</div>' for run in runs
                      if run.samples)
    speed = []
    for k, run in enumerate(runs):
        steps, rate = run.column("train", "steps_per_s")
        if rate:
            speed.append(Series(run.name, steps, [r * _batch_size(run) for r in rate], PALETTE[k % len(PALETTE)], 2.0))
    lr = [Series(run.name, *run.column("train", "lr"), PALETTE[k % len(PALETTE)], 2.0)
          for k, run in enumerate(runs) if run.column("train", "lr")[0]]
    env_header = ["", *[run.name for run in runs]]
    env = [environment_rows(run) for run in runs]
    env_keys = list(dict.fromkeys(row[0] for rows in env for row in rows))
    env_table = table(env_header, [[key, *[dict(map(tuple, rows)).get(key, "-") for rows in env]] for key in env_keys])
    sections = [
        ("Runs", f"<p>{legend}</p>"),
        ("Configuration differences", config_differences(runs)),
        ("Evaluation", evaluation_section(runs)),
        ("Losses (smoothed)", charts(overlaid(runs, "train", True, "loss "))),
        ("Learning rate and speed", charts(([figure("learning rate", line_chart(lr, "learning rate", log_y=False))]
                                            if lr else [])
                                           + ([figure("images/s", line_chart(speed, "images per second", log_y=False))]
                                              if speed else []))),
        ("Validation", charts(overlaid(runs, "val", False, "validation "))),
        ("FID and KID during training", charts(overlaid(runs, "eval", False, ""))),
        ("Samples", f'<div class="samples">{samples}</div>' if samples else ""),
        ("Machine, versions and duration", env_table),
    ]
    return page(f"i2i report: {len(runs)} runs compared", ", ".join(str(run.path) for run in runs), sections)
