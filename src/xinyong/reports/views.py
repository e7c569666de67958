"""The reports as people see them: a Rich table on the terminal, and the files (JSON, PNG, HTML)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from rich.table import Table

from xinyong.reports.fairness import Fairness
from xinyong.reports.groups import label, ordered
from xinyong.reports.whatif import BREAKDOWNS, KINDS, ItemChange, WhatIf

DIMENSION_TITLES = {
    "region": "region",
    "subject_type": "subject type",
    "age_band": "age band",
    "sex": "sex",
    "org_type": "organisation type",
}


def _transitions(item: ItemChange) -> str:
    return ", ".join(
        f"{before}→{after} {count}" for (before, after), count in sorted(item.transitions.items())
    )


def _counts(counts: Counter[str], top: int | None = None) -> str:
    shown = counts.most_common(top)
    more = len(counts) - len(shown)
    return ", ".join(f"{group} {count}" for group, count in shown) + (
        f", … {more} more" if more else ""
    )


def _changed_items(report: WhatIf) -> list[ItemChange]:
    return [item for kind in KINDS for item in report.changed(kind) if item.subjects]


def whatif_table(report: WhatIf) -> Table:
    table = Table(title=f"what-if {report.proposed_pack} on {report.as_of.isoformat()}")
    table.add_column("change")
    table.add_column("item", no_wrap=True)
    table.add_column("subjects", justify="right")
    table.add_column("from → to")
    table.add_column("top regions")
    table.add_column("by subject type")
    for item in _changed_items(report):
        table.add_row(
            item.kind,
            item.code,
            str(len(item.subjects)),
            _transitions(item),
            _counts(item.by_region, 3),
            _counts(item.by_subject_type),
        )
    return table


def whatif_summary(report: WhatIf) -> list[str]:
    return [
        f"{len(report.changed_subjects())} of {report.subjects} subjects would change on "
        f"{report.as_of.isoformat()} under {report.proposed_pack}.",
        f"Current policy: {', '.join(report.current)}.",
        f"Proposed policy: {', '.join(report.proposed)}.",
        "Nothing was published: no evaluation, entry or index row changed.",
    ]


def _by_breakdown(
    report: WhatIf, breakdown: str
) -> tuple[list[str], list[tuple[str, list[int | float]]]]:
    """Groups of ``breakdown`` with changes, and the changed subjects per kind in each."""
    per_kind: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    for item in _changed_items(report):
        per_kind[item.kind].update(getattr(item, f"by_{breakdown}"))
    groups = sorted({group for counts in per_kind.values() for group in counts})
    return groups, [
        (kind, [per_kind[kind][group] for group in groups]) for kind in KINDS if per_kind[kind]
    ]


def write_whatif(report: WhatIf, out: Path) -> dict[str, Path]:
    """Write ``whatif.json``, ``whatif.png`` and ``whatif.html`` into ``out``."""
    # matplotlib (the `reports` extra) only when files are written, not for the terminal.
    from xinyong.reports.render import (
        bar_option,
        cjk_font,
        draw_bars,
        label_text,
        new_figure,
        write_html,
        write_json,
        write_png,
    )

    out.mkdir(parents=True, exist_ok=True)
    data = report.as_dict()
    cjk = cjk_font() is not None
    items = _changed_items(report)
    item_names = [f"{item.kind} {item.code}" for item in items]
    item_series: list[tuple[str, list[int | float]]] = [
        ("subjects", [len(item.subjects) for item in items])
    ]
    figure = new_figure(1 + len(BREAKDOWNS))
    axes = figure.subplots(1 + len(BREAKDOWNS), 1, squeeze=False)[:, 0]
    draw_bars(axes[0], "subjects changed, by item", item_names, item_series)
    charts = [{"title": "Subjects changed, by item", "option": bar_option(item_names, item_series)}]
    tables: list[dict[str, Any]] = [
        {
            "title": "Changes by item",
            "columns": ["change", "item", "subjects", "from → to", "by region", "by subject type"],
            "rows": [
                [
                    item.kind,
                    item.code,
                    len(item.subjects),
                    _transitions(item),
                    _counts(item.by_region),
                    _counts(item.by_subject_type),
                ]
                for item in items
            ],
        }
    ]
    for axis, breakdown in zip(axes[1:], BREAKDOWNS, strict=True):
        groups, series = _by_breakdown(report, breakdown)
        names = [label_text(label(breakdown, group), cjk) for group in groups]
        title = f"changes by {DIMENSION_TITLES[breakdown]}"
        draw_bars(axis, title, names, series)
        charts.append({"title": title.capitalize(), "option": bar_option(names, series)})
        tables.append(
            {
                "title": title.capitalize(),
                "columns": [DIMENSION_TITLES[breakdown], "subjects", *(kind for kind, _ in series)],
                "rows": [
                    [name, report.population[breakdown].get(group, 0), *(v[i] for _, v in series)]
                    for i, (group, name) in enumerate(zip(groups, names, strict=True))
                ],
            }
        )
    return {
        "json": write_json(data, out / "whatif.json"),
        "png": write_png(figure, out / "whatif.png"),
        "html": write_html(
            out / "whatif.html",
            title=f"What-if: {report.proposed_pack}",
            summary=whatif_summary(report),
            charts=charts,
            tables=tables,
            data=data,
        ),
    }


def fairness_tables(report: Fairness) -> list[Table]:
    tables = []
    for dimension, groups in report.distributions.items():
        table = Table(title=f"{report.scheme} by {DIMENSION_TITLES[dimension]}")
        table.add_column(DIMENSION_TITLES[dimension])
        table.add_column("subjects", justify="right")
        for grade in report.grades:
            table.add_column(grade, justify="right")
        for group in ordered(dimension, groups):
            grades = groups[group]
            table.add_row(
                group,
                str(sum(grades.values())),
                *(str(grades.get(grade, 0)) for grade in report.grades),
            )
        tables.append(table)
        gaps = report.gaps[dimension][:5]
        if gaps:
            rules = Table(title=f"rules with the largest gaps by {DIMENSION_TITLES[dimension]}")
            for column in ("rule", "unit", "gap", "highest", "lowest"):
                rules.add_column(column, justify="right" if column == "gap" else "left")
            for gap in gaps:
                rules.add_row(
                    gap.code,
                    gap.unit,
                    f"{gap.gap:.3g}",
                    f"{gap.highest} ({gap.weights[gap.highest]:.3g})",
                    f"{gap.lowest} ({gap.weights[gap.lowest]:.3g})",
                )
            tables.append(rules)
    return tables


def write_fairness(report: Fairness, out: Path) -> dict[str, Path]:
    """Write ``fairness-<scheme>.json``, ``.png`` and ``.html`` into ``out``."""
    # matplotlib (the `reports` extra) only when files are written, not for the terminal.
    from xinyong.reports.render import (
        bar_option,
        cjk_font,
        draw_bars,
        label_text,
        new_figure,
        write_html,
        write_json,
        write_png,
    )

    out.mkdir(parents=True, exist_ok=True)
    data = report.as_dict()
    cjk = cjk_font() is not None
    stem = f"fairness-{report.scheme}"
    figure = new_figure(len(report.distributions), 2)
    axes = figure.subplots(max(len(report.distributions), 1), 2, squeeze=False)
    charts: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    for row, (dimension, groups) in enumerate(report.distributions.items()):
        in_order = ordered(dimension, groups)
        names = [label_text(label(dimension, group), cjk) for group in in_order]
        series: list[tuple[str, list[int | float]]] = [
            (grade, [groups[group].get(grade, 0) for group in in_order]) for grade in report.grades
        ]
        title = f"grades by {DIMENSION_TITLES[dimension]}"
        draw_bars(axes[row][0], title, names, series)
        charts.append({"title": title.capitalize(), "option": bar_option(names, series)})
        tables.append(
            {
                "title": title.capitalize(),
                "columns": [DIMENSION_TITLES[dimension], "subjects", *report.grades],
                "rows": [
                    [name, sum(groups[group].values()), *(values[i] for _, values in series)]
                    for i, (group, name) in enumerate(zip(in_order, names, strict=True))
                ],
            }
        )
        gaps = report.gaps[dimension][:5]
        gap_title = f"largest rule gaps by {DIMENSION_TITLES[dimension]}"
        gap_series: list[tuple[str, list[int | float]]] = [
            ("gap", [round(gap.gap, 3) for gap in gaps])
        ]
        draw_bars(axes[row][1], gap_title, [gap.code for gap in gaps], gap_series)
        charts.append(
            {
                "title": gap_title.capitalize(),
                "option": bar_option([g.code for g in gaps], gap_series),
            }
        )
        tables.append(
            {
                "title": gap_title.capitalize(),
                "columns": ["rule", "unit", "gap", "highest", "lowest"],
                "rows": [
                    [gap.code, gap.unit, round(gap.gap, 3), gap.highest, gap.lowest] for gap in gaps
                ],
            }
        )
        tables.append(
            {
                "title": f"Largest record type gaps by {DIMENSION_TITLES[dimension]}",
                "columns": ["record type", "unit", "gap", "highest", "lowest"],
                "rows": [
                    [gap.code, gap.unit, round(gap.gap, 3), gap.highest, gap.lowest]
                    for gap in report.record_type_gaps[dimension][:5]
                ],
            }
        )
    return {
        "json": write_json(data, out / f"{stem}.json"),
        "png": write_png(figure, out / f"{stem}.png"),
        "html": write_html(
            out / f"{stem}.html",
            title=f"Fairness: {report.scheme}",
            summary=[
                f"{report.subjects} subjects graded under {report.scheme} in evaluation "
                f"{report.evaluation_id} (as of {report.as_of.isoformat()})."
            ],
            charts=charts,
            tables=tables,
            data=data,
        ),
    }
