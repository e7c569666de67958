"""ECharts options for the statistics page, built on the server in the page's language.

The browser only hands these to ``echarts.setOption``; the same numbers are in a table beside
each chart, which is what a reader without JavaScript (or a screen reader) gets.
"""

from __future__ import annotations

from typing import Any

from xinyong.identifiers.regions import region_name
from xinyong.portal.stats import Stats
from xinyong.web.i18n import gettext_ as _
from xinyong.web.labels import effect_label, kind_label
from xinyong.web.templating import bilingual

PALETTE = ["#b3261e", "#1f5fa8", "#c77700", "#2e7d32", "#6a4c93", "#00838f", "#8d6e63"]


def _base(months: list[str]) -> dict[str, Any]:
    return {
        "color": PALETTE,
        "tooltip": {"trigger": "axis"},
        # A scrolling legend stays one line wide on a phone.
        "legend": {"top": 0, "type": "scroll"},
        "grid": {"left": 8, "right": 16, "top": 40, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": months},
        "yAxis": {"type": "value", "minInterval": 1},
        "textStyle": {"fontFamily": "Noto Sans CJK SC, sans-serif"},
    }


def listings(data: Stats) -> dict[str, Any]:
    option = _base(data["months"])
    option["series"] = [
        {
            "name": f"{kind_label(series['kind'])} · {label}",
            "type": "bar",
            "stack": key,
            "data": series[key],
        }
        for series in data["series"]
        for key, label in (("listed", _("listed")), ("delisted", _("delisted")))
    ]
    return option


def _bars(names: list[str], values: list[int]) -> dict[str, Any]:
    """Horizontal bars whose long names break over lines instead of crowding the bars out."""
    return {
        "color": PALETTE,
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 24, "top": 16, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {
            "type": "category",
            "data": names,
            "axisLabel": {"width": 110, "overflow": "break"},
        },
        "series": [{"type": "bar", "data": values}],
        "textStyle": {"fontFamily": "Noto Sans CJK SC, sans-serif"},
    }


def entries(data: Stats) -> dict[str, Any]:
    lists = [item for item in data["by_list"] if item["entries"]]
    return _bars([bilingual(item["name"]) for item in lists], [item["entries"] for item in lists])


def regions(data: Stats) -> dict[str, Any]:
    """Entries in force by region, named (GB/T 2260)."""
    rows = [item for item in data["by_region"] if item["entries"]][:15]
    names = [region_name(item["region"]) or item["region"] or "—" for item in rows]
    return _bars(names, [item["entries"] for item in rows])


def checks(data: Stats) -> dict[str, Any]:
    option = _base(data["months"])
    option["series"] = [
        {
            "name": f"{bilingual(series['name']) or series['action']} · {effect_label(series['effect'])}",
            "type": "line",
            "data": series["checks"],
        }
        for series in data["series"]
        if series["effect"] == "deny"
    ]
    return option
