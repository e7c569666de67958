"""Generate a synthetic city: per-authority submission files and a manifest, or a stream.

``DIR/<authority>.<ext>`` holds what one authority submits; ``DIR/manifest.json`` says how
the files were made (seed, sizes, as-of date), how many rows each holds and how many of them
were deliberately malformed, by kind, and the order to ingest them in (file names):
registration authorities first, so organisations are registered before other records name
them. ``DIR/default_outcomes.csv`` holds each borrower's default outcome (see ``credit``):
training data for the financial scorecard, never a record, never ingested.
"""

import csv
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from xinyong.policy import Pack, load_shipped
from xinyong.synth.credit import OUTCOME_MONTHS
from xinyong.synth.defects import DEFECT_KINDS
from xinyong.synth.double_publicity import LAYOUT, PROFILES, DoublePublicityFiles
from xinyong.synth.records import CityRecords, ProgressCallback
from xinyong.synth.writers import FORMATS, SubmissionFiles

DEFAULT_PERSONS = 50_000
DEFAULT_ORGANISATIONS = 5_000
DEFAULT_SEED = 1
DEFAULT_FORMAT = "jsonl"
# Fixed, so that what is generated never depends on the day it is generated.
DEFAULT_AS_OF = date(2026, 11, 1)
DEFAULT_PACK = "national"
MANIFEST = "manifest.json"
OUTCOMES = "default_outcomes.csv"
OUTCOME_COLUMNS = ("subject_id", "defaulted")


@dataclass(slots=True)
class FileStats:
    authority: str
    file: str
    rows: int = 0
    malformed: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True, slots=True)
class SynthSummary:
    """What a run produced; ``elapsed_seconds`` is the only value that differs between runs."""

    out_dir: Path
    format: str
    seed: int
    persons: int
    organisations: int
    as_of: date
    rows: int
    files: tuple[FileStats, ...]  # in ingest order
    ops: dict[str, int]
    malformed: dict[str, int]  # by kind, every kind listed
    unfit_skipped: int
    borrowers: int  # rows of the outcomes file
    defaulted: int
    elapsed_seconds: float
    layout_files: tuple[str, ...] = ()  # licences and penalties in an external layout
    layout_rows: int = 0

    @property
    def malformed_total(self) -> int:
        return sum(self.malformed.values())

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "format": self.format,
            "seed": self.seed,
            "persons": self.persons,
            "organisations": self.organisations,
            "as_of": self.as_of.isoformat(),
            "rows": self.rows,
            "ops": self.ops,
            "malformed": {"total": self.malformed_total, "by_kind": self.malformed},
            "unfit_skipped": self.unfit_skipped,
            "outcomes": _outcomes_json(self),
            "files": [_file_json(stats) for stats in self.files],
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "rows_per_second": round(self.rows_per_second),
            "layout_files": list(self.layout_files),
            "layout_rows": self.layout_rows,
        }


def _file_json(stats: FileStats) -> dict[str, Any]:
    return {
        "authority": stats.authority,
        "file": stats.file,
        "rows": stats.rows,
        "malformed": dict(sorted(stats.malformed.items())),
    }


def _outcomes_json(summary: SynthSummary) -> dict[str, Any]:
    return {
        "file": OUTCOMES,
        "months": OUTCOME_MONTHS,
        "borrowers": summary.borrowers,
        "defaulted": summary.defaulted,
    }


def iter_records(
    persons: int = DEFAULT_PERSONS,
    orgs: int = DEFAULT_ORGANISATIONS,
    seed: int = DEFAULT_SEED,
    as_of: date = DEFAULT_AS_OF,
    *,
    pack: Pack | None = None,
) -> Iterator[dict[str, Any]]:
    """Every row of the city, malformed ones included, as the dicts a JSON line holds.

    Rows come one subject at a time in memory that does not grow with the city, the same
    rows in the same order as ``generate`` writes (spread over its files).
    """
    for row in CityRecords(pack or load_shipped(DEFAULT_PACK), persons, orgs, seed, as_of).rows():
        yield row.record


def generate(
    out_dir: Path,
    persons: int = DEFAULT_PERSONS,
    orgs: int = DEFAULT_ORGANISATIONS,
    seed: int = DEFAULT_SEED,
    fmt: str = DEFAULT_FORMAT,
    as_of: date = DEFAULT_AS_OF,
    progress: ProgressCallback | None = None,
    *,
    pack: Pack | None = None,
    layout: str | None = None,
) -> SynthSummary:
    """Write the city's submission files and manifest under ``out_dir``.

    The same arguments give byte-identical files. ``progress`` is called with (subjects
    done, subjects in all) as generation advances.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    pack = pack or load_shipped(DEFAULT_PACK)
    started = time.perf_counter()
    city = CityRecords(pack, persons, orgs, seed, as_of)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = SubmissionFiles(out_dir, fmt)
    layout_files = DoublePublicityFiles(out_dir, pack) if layout == LAYOUT else None
    if layout is not None and layout_files is None:
        raise ValueError(f"unknown layout {layout!r}; the one there is: {LAYOUT}")
    stats: dict[str, FileStats] = {}
    ops: Counter[str] = Counter()
    try:
        for row in city.rows(progress):
            record = row.record
            if layout_files is not None and record.get("record_type") in PROFILES:
                # The layout has no op and no defect of the record format: those rows go.
                if row.defect is None and layout_files.takes(record):
                    layout_files.write(record)
                continue
            if layout_files is not None and row.defect is None:
                layout_files.known.add(record["subject_id"])
            files.write(record)
            authority = record["authority"]
            entry = stats.get(authority)
            if entry is None:
                entry = stats[authority] = FileStats(authority, files.file_name(authority))
            entry.rows += 1
            ops[record.get("op", "submit")] += 1
            if row.defect is not None:
                entry.malformed[row.defect] += 1
    finally:
        files.close()
        if layout_files is not None:
            layout_files.close()
    borrowers, defaulted = _write_outcomes(out_dir / OUTCOMES, city)
    ordered = tuple(sorted(stats.values(), key=lambda s: _ingest_rank(pack, s.authority)))
    malformed: Counter[str] = Counter()
    for entry in ordered:
        malformed.update(entry.malformed)
    summary = SynthSummary(
        out_dir=out_dir,
        format=fmt,
        seed=seed,
        persons=persons,
        organisations=orgs,
        as_of=as_of,
        rows=sum(entry.rows for entry in ordered),
        files=ordered,
        ops={op: ops[op] for op in ("submit", "correct", "withdraw")},
        malformed={kind: malformed[kind] for kind in DEFECT_KINDS},
        unfit_skipped=city.unfit,
        borrowers=borrowers,
        defaulted=defaulted,
        elapsed_seconds=time.perf_counter() - started,
        layout_files=tuple(layout_files.files) if layout_files else (),
        layout_rows=sum(layout_files.rows.values()) if layout_files else 0,
    )
    (out_dir / MANIFEST).write_bytes(
        orjson.dumps(
            _manifest(summary, pack), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        )
    )
    return summary


def _write_outcomes(path: Path, city: CityRecords) -> tuple[int, int]:
    """Write every borrower's default outcome (1 or 0); how many borrowers, how many defaulted."""
    borrowers = defaulted = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(OUTCOME_COLUMNS)
        for subject_id, outcome in city.outcomes():
            writer.writerow((subject_id, int(outcome)))
            borrowers += 1
            defaulted += outcome
    return borrowers, defaulted


def _ingest_rank(pack: Pack, authority: str) -> tuple[bool, str]:
    known = pack.authorities.get(authority)
    return (not (known is not None and known.registration_authority), authority)


def _manifest(summary: SynthSummary, pack: Pack) -> dict[str, Any]:
    """The manifest: everything in the summary that is the same on every run."""
    return {
        "generator": "xinyong.synth",
        "pack": {"name": pack.name, "version": pack.version, "digest": pack.digest},
        "seed": summary.seed,
        "persons": summary.persons,
        "organisations": summary.organisations,
        "as_of": summary.as_of.isoformat(),
        "format": summary.format,
        "rows": summary.rows,
        "ops": summary.ops,
        "malformed": {"total": summary.malformed_total, "by_kind": summary.malformed},
        "unfit_skipped": summary.unfit_skipped,
        "outcomes": _outcomes_json(summary),
        "ingest_order": [entry.file for entry in summary.files],
        **(
            {"layout_files": list(summary.layout_files), "layout_rows": summary.layout_rows}
            if summary.layout_files
            else {}
        ),
        "files": [_file_json(entry) for entry in summary.files],
    }
