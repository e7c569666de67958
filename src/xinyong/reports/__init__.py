"""Reports for policy analysts: what a proposed policy would change (what-if), and how grades
fall across regions, ages, sexes and organisation types (fairness).

Both read the store and never write to it; both give a table, JSON, a PNG chart and an HTML
page with ECharts.
"""
