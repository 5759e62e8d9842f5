"""``nakama-py bench --report FILE.html``: one self-contained page (inline CSS and SVG, no script, nothing
fetched) with the run's throughput and latency over time, its percentiles and, for reset-under-load, the
load before, during and after the finalize. Two runs' pages can be compared side by side."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from nakama_py.bench.report import Report
from nakama_py.bench.timeline import Second

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 860, 230, 56, 28, 24
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;color:#1d2330;margin:1.5rem auto;max-width:940px;padding:0 1rem}
h1{font-size:1.4rem} h2{font-size:1.05rem;margin-top:1.6rem}
table{border-collapse:collapse;margin:.4rem 0}
th,td{padding:.25rem .7rem;border-bottom:1px solid #dde1e8;text-align:right}
th:first-child,td:first-child{text-align:left} .muted{color:#5c6577} .warn{color:#c92a2a}
svg{background:#fff;border:1px solid #dde1e8} .legend span{margin-right:1rem}
"""


def _scale(values: Sequence[float]) -> float:
    top = max(values, default=0.0)
    return top * 1.1 if top > 0 else 1.0


def _chart(points: Sequence[Second], series: Sequence[tuple[str, str, list[float]]], unit: str,
           band: tuple[float, float] | None = None) -> str:
    """An SVG line chart of ``series`` (label, colour, values) over the seconds of ``points``."""
    if not points:
        return "<p class='muted'>No samples.</p>"
    span = max(points[-1].at_s, 1.0)
    top = _scale([v for _, _, values in series for v in values])
    plot_w, plot_h = WIDTH - PAD_LEFT - 10, HEIGHT - PAD_BOTTOM - PAD_TOP

    def x(at: float) -> float:
        return PAD_LEFT + plot_w * at / span

    def y(value: float) -> float:
        return PAD_TOP + plot_h * (1 - value / top)

    parts = [f"<svg viewBox='0 0 {WIDTH} {HEIGHT}' width='{WIDTH}' height='{HEIGHT}' role='img'>"]
    if band is not None:
        parts.append(f"<rect x='{x(band[0]):.1f}' y='{PAD_TOP}' width='{max(1.0, x(band[1]) - x(band[0])):.1f}' "
                     f"height='{plot_h}' fill='#fff3bf'/>")
    for i in range(5):
        value = top * i / 4
        parts.append(f"<line x1='{PAD_LEFT}' x2='{WIDTH - 10}' y1='{y(value):.1f}' y2='{y(value):.1f}' "
                     "stroke='#eef0f4'/>")
        parts.append(f"<text x='{PAD_LEFT - 6}' y='{y(value) + 4:.1f}' font-size='11' text-anchor='end' "
                     f"fill='#5c6577'>{value:,.0f}</text>")
    step = max(1, math.ceil(span / 8))
    for at in range(0, int(span) + 1, step):
        parts.append(f"<text x='{x(at):.1f}' y='{HEIGHT - 8}' font-size='11' text-anchor='middle' "
                     f"fill='#5c6577'>{at:.0f}s</text>")
    parts.append(f"<text x='6' y='14' font-size='11' fill='#5c6577'>{html.escape(unit)}</text>")
    for _, colour, values in series:
        path = " ".join(f"{x(p.at_s):.1f},{y(v):.1f}" for p, v in zip(points, values, strict=True))
        parts.append(f"<polyline points='{path}' fill='none' stroke='{colour}' stroke-width='2'/>")
    parts.append("</svg>")
    legend = "".join(f"<span style='color:{colour}'>&#9632; {html.escape(label)}</span>"
                     for label, colour, _ in series)
    return "".join(parts) + f"<div class='legend'>{legend}</div>"


def _row(cells: Sequence[object]) -> str:
    return "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in cells) + "</tr>"


def render_html(report: Report, points: Sequence[Second]) -> str:
    data = report.as_dict()
    latency = data["latency_ms"]
    finalize = data.get("finalize") or {}
    window = finalize.get("window_s")
    band = (float(window[0]), float(window[1])) if window else None
    title = f"nakama-py bench {report.scenario}" + (f" ({report.label})" if report.label else "")
    rows = [
        ("server", report.url), ("engine", data["engine"]), ("mode", report.mode),
        ("connections", report.connections), ("rate", report.rate or "-"),
        ("measured", f"{data['duration_s']:.1f} s after {report.warmup_s:g} s warm-up"),
        ("requests", f"{data['requests']:,}"), ("requests/s", f"{data['requests_per_s']:,.1f}"),
        ("errors", data["errors"]["total"]),
    ]
    sections = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='muted'>{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}</p>",
        "<table>" + "".join(_row(r) for r in rows) + "</table>",
        "<h2>Throughput (requests started per second)</h2>",
        _chart(points, [("requests/s", "#3b5bdb", [float(p.requests) for p in points]),
                        ("errors/s", "#c92a2a", [float(p.errors) for p in points])], "req/s", band),
        "<h2>Latency over time</h2>",
        _chart(points, [("p50", "#3b5bdb", [p.p50_ms for p in points]),
                        ("p99", "#e8590c", [p.p99_ms for p in points])], "ms", band),
        "<h2>Latency percentiles (ms)</h2><table><tr><th></th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th>"
        "<th>max</th><th>mean</th></tr>",
        _row(["all", latency["p50"], latency["p90"], latency["p99"], latency["p99_9"], latency["max"],
              latency["mean"]]),
    ]
    for name, kind in (data.get("kinds") or {}).items():
        lat = kind["latency_ms"]
        sections.append(_row([name, lat["p50"], lat["p90"], lat["p99"], lat["p99_9"], lat["max"], lat["mean"]]))
    sections.append("</table>")
    if report.phases:
        sections.append("<h2>Before, during and after the finalize</h2>"
                        f"<p>Cycle {finalize.get('cycle')} finalized in {finalize.get('duration_ms')} ms "
                        "(shaded in the charts).</p><table><tr><th>phase</th><th>seconds</th><th>requests/s</th>"
                        "<th>p50</th><th>p99</th><th>max</th><th>errors</th></tr>")
        for phase in report.phases:
            p = phase.as_dict()
            sections.append(_row([phase.name, p["wall_s"], p["requests_per_s"], p["latency_ms"]["p50"],
                                  p["latency_ms"]["p99"], p["latency_ms"]["max"], p["errors"]["total"]]))
        sections.append("</table>")
    for warning in report.warnings:
        sections.append(f"<p class='warn'>{html.escape(warning)}</p>")
    for note in report.notes:
        sections.append(f"<p class='muted'>{html.escape(note)}</p>")
    sections.append("</body></html>")
    return "\n".join(sections)


def write_html(report: Report, points: Sequence[Second], path: Path) -> None:
    path.write_text(render_html(report, points), encoding="utf-8")
