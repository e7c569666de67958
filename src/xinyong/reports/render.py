"""Writing a report's files: JSON, a PNG chart (matplotlib) and a self-contained HTML page
whose charts are drawn by the ECharts file shipped with the web pages (never a CDN)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import matplotlib
import orjson
from jinja2 import Environment, PackageLoader, select_autoescape
from matplotlib import font_manager
from matplotlib.figure import Figure

from xinyong.reports.groups import Label

ECHARTS = Path(__file__).parent.parent / "web" / "static" / "vendor" / "echarts.min.js"
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei")
"""Fonts with Chinese glyphs, preferred first (Debian's ``fonts-noto-cjk`` has the first)."""


@cache
def cjk_font() -> str | None:
    """A font family that can draw Chinese, or ``None`` (labels then fall back to codes)."""
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in installed), None)


def label_text(label: Label, cjk: bool) -> str:
    """What a chart shows for a group: its Chinese name when a font can draw it, else its code
    (English names are long and tables carry them)."""
    return f"{label.zh} ({label.code})" if cjk and label.zh else label.code


def new_figure(rows: int, columns: int = 1, *, height: float = 3.2) -> Figure:
    # A bare Figure (no pyplot) draws with the Agg canvas and touches no global backend.
    return Figure(figsize=(6.4 * columns, height * rows), layout="constrained")


def write_png(figure: Figure, path: Path) -> Path:
    family = cjk_font()
    # Chinese group names need a font with their glyphs; DejaVu Sans covers the rest. Fonts
    # are looked up when the figure is drawn, so the setting holds only while it is saved.
    fonts = [family, "DejaVu Sans"] if family is not None else None
    with matplotlib.rc_context({"font.sans-serif": fonts} if fonts is not None else None):
        figure.savefig(path, format="png", dpi=110)
    return path


def write_json(data: dict[str, Any], path: Path) -> Path:
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return path


_ENVIRONMENT = Environment(
    loader=PackageLoader("xinyong.reports"), autoescape=select_autoescape(["html"])
)


def write_html(
    path: Path,
    *,
    title: str,
    summary: list[str],
    charts: list[dict[str, Any]],
    tables: list[dict[str, Any]],
    data: dict[str, Any],
) -> Path:
    """One page: ``charts`` (``{"title", "option"}``, ECharts options), ``tables``
    (``{"title", "columns", "rows"}``) and the report's JSON, all inside the file."""
    echarts = ECHARTS.read_text(encoding="utf-8") if ECHARTS.is_file() else None
    page = _ENVIRONMENT.get_template("report.html").render(
        title=title,
        summary=summary,
        charts=charts,
        tables=tables,
        data=data,
        # The library is inlined so the page needs nothing else; "</" cannot occur in it
        # unescaped without ending the script element, so it is escaped like JSON would be.
        echarts=echarts.replace("</", "<\\/") if echarts is not None else None,
    )
    path.write_text(page, encoding="utf-8")
    return path


def bar_option(
    categories: list[str], series: list[tuple[str, list[int | float]]], *, stacked: bool = True
) -> dict[str, Any]:
    """A horizontal bar chart's ECharts option: one bar per category, one colour per series."""
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 24, "top": 32, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": categories, "inverse": True},
        "series": [
            {"name": name, "type": "bar", "data": values, **({"stack": "all"} if stacked else {})}
            for name, values in series
        ],
        "textStyle": {"fontFamily": "Noto Sans CJK SC, sans-serif"},
    }


def draw_bars(
    axes: Any,
    title: str,
    categories: list[str],
    series: list[tuple[str, list[int | float]]],
    *,
    stacked: bool = True,
) -> None:
    """The same chart as ``bar_option``, drawn by matplotlib on ``axes``."""
    axes.set_title(title)
    if not categories:
        axes.text(0.5, 0.5, "none", ha="center", va="center", transform=axes.transAxes)
        axes.set_axis_off()
        return
    positions = list(range(len(categories)))
    left = [0.0] * len(categories)
    height = 0.8 if stacked else 0.8 / max(len(series), 1)
    for index, (name, values) in enumerate(series):
        offsets = positions if stacked else [p + index * height for p in positions]
        axes.barh(offsets, values, height=height, left=left if stacked else None, label=name)
        if stacked:
            left = [base + value for base, value in zip(left, values, strict=True)]
    axes.set_yticks(positions, categories)
    # Top to bottom, and at least four rows tall so that one bar stays a bar, not a block.
    axes.set_ylim(max(len(categories), 4) - 0.5, -0.5)
    if len(series) > 1:
        axes.legend(fontsize="small")
