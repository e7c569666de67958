"""ECharts options for the statistics page, built on the server in the page's language.

The browser only hands these to ``echarts.setOption``; the same numbers are in a table beside
each chart, which is what a reader without JavaScript (or a screen reader) gets.
"""

from __future__ import annotations

from typing import Any

from xinyong.portal.stats import Stats
from xinyong.web.i18n import gettext_ as _
from xinyong.web.labels import effect_label, kind_label
from xinyong.web.templating import bilingual

PALETTE = ["#b3261e", "#1f5fa8", "#c77700", "#2e7d32", "#6a4c93", "#00838f", "#8d6e63"]


def _base(months: list[str]) -> dict[str, Any]:
    return {
        "color": PALETTE,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 48, "right": 16, "top": 40, "bottom": 32},
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


def entries(data: Stats) -> dict[str, Any]:
    lists = [item for item in data["by_list"] if item["entries"]]
    return {
        "color": PALETTE,
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 200, "right": 24, "top": 16, "bottom": 24},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": [bilingual(item["name"]) for item in lists]},
        "series": [{"type": "bar", "data": [item["entries"] for item in lists]}],
        "textStyle": {"fontFamily": "Noto Sans CJK SC, sans-serif"},
    }


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
