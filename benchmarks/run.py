"""Runs every ``benchmarks/bench_*.py`` and writes docs/performance.md and docs/performance.json.

Each module exposes ``run(quick: bool) -> list[dict]``; every result carries its floor (the bare
library doing the same work, measured in the same run) and the ratio between the two.
"""

import argparse
import importlib.util
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from xinyong.assembly import assemble

HERE = Path(__file__).parent
DOCS = HERE.parent / "docs"


def machine() -> str:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    return f"{os.cpu_count()} cores ({model}){memory}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def load(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 10 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def write(results: list[dict[str, Any]], quick: bool, seconds: float) -> None:
    generated = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = {"generated": generated, "machine": machine(), "quick": quick, "results": results}
    DOCS.mkdir(exist_ok=True)
    (DOCS / "performance.json").write_bytes(
        orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    )
    lines = [
        "# Performance",
        "",
        f"Written by `make bench` on {generated}, measured on {document['machine']}"
        + (" (quick sizes)" if quick else "")
        + f"; that run took {seconds:,.0f} s.",
        "",
        "Each figure stands beside its **floor**: the bare library doing the same work on the same data "
        "in the same run. The ratio is figure / floor for rates (higher is better) and floor / figure "
        "for times (so 1.0 means as fast as the floor). A partial run (`benchmarks/run.py NAME`) "
        "re-measures some rows; the `measured` column says when each row was measured.",
        "",
        "| benchmark | value | unit | floor | ratio | target | measured | notes |",
        "|---|---:|---|---:|---:|---|---|---|",
    ]
    for result in results:
        lines.append(
            "| {name} | {value} | {unit} | {floor} | {ratio} | {target} | {measured} | {notes} |".format(
                name=result["name"],
                value=fmt(result.get("value")),
                unit=result.get("unit", ""),
                floor=fmt(result.get("floor")),
                ratio=fmt(result.get("ratio")),
                target=result.get("target", ""),
                measured=result.get("measured", ""),
                notes=str(result.get("notes", "")).replace("|", "/"),
            )
        )
    lines += ["", "The machine-readable copy is `docs/performance.json`.", ""]
    (DOCS / "performance.md").write_text("\n".join(lines))


def with_previous(results: list[dict[str, Any]], previous: dict[str, Any]) -> list[dict[str, Any]]:
    """A partial run's ``results`` among the ``previous`` document's: each benchmark's row where
    it was, those not measured again with the time they were measured, new ones last."""
    fresh = {result["name"]: result for result in results}
    kept = [
        fresh.pop(row["name"], {"measured": previous["generated"], **row})
        for row in previous["results"]
    ]
    return kept + list(fresh.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("only", nargs="*", help="run only these modules (e.g. bench_ingest)")
    args = parser.parse_args()
    assemble()  # the listeners and ledger sources the service runs with
    started = time.perf_counter()
    measured_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    results: list[dict[str, Any]] = []
    for path in sorted(HERE.glob("bench_*.py")):
        if args.only and path.stem not in args.only:
            continue
        print(f"== {path.stem}", flush=True)
        for result in load(path).run(args.quick):
            print(
                f"   {result['name']}: {fmt(result.get('value'))} {result.get('unit', '')} "
                f"(floor {fmt(result.get('floor'))}, ratio {fmt(result.get('ratio'))})",
                flush=True,
            )
            results.append({**result, "measured": measured_at})
    if args.only and (DOCS / "performance.json").exists():
        results = with_previous(results, orjson.loads((DOCS / "performance.json").read_bytes()))
    write(results, args.quick, time.perf_counter() - started)
    print(f"wrote {DOCS / 'performance.md'} and {DOCS / 'performance.json'}")


if __name__ == "__main__":
    main()
