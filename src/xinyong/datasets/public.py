"""The public datasets: every list and the public records, exactly as the portal shows them.

The rows come from the portal's own public view (``xinyong.portal.public_file.public_files``,
the function behind every public file), so a dataset holds what the public files hold and
nothing else: public record types at published grades inside their publicity period, entries
grounded by such records, persons only while published defaulters and with their identity
numbers masked, no field that names another subject. One dataset per list of the pack
(``list.<code>``: the entries in force, as on the public files and the defaulters listing)
and one of records (``records``: each public record with the subject as the file shows it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from xinyong.policy import Pack
from xinyong.portal.public_file import public_files, public_subject

RECORDS = "records"
KEY = "document_key"
"""Names a row: a decision's document key is unique among a list's entries and among the
current records."""
TITLES = {
    RECORDS: {"zh": "公示的公共信用信息", "en": "Public credit records"},
}


def list_dataset(code: str) -> str:
    return f"list.{code}"


def public_rows(session: Session, pack: Pack, day: date) -> dict[str, dict[str, Any]]:
    """Every public dataset's rows on ``day``: dataset name -> key -> row."""
    datasets: dict[str, dict[str, Any]] = {RECORDS: {}}
    datasets.update({list_dataset(code): {} for code in pack.lists})
    for subject, entries, records in public_files(session, pack, day):
        shown = public_subject(subject)
        for record in records:
            datasets[RECORDS][record[KEY]] = {
                "subject": {**shown, "region": subject.region},
                **record,
            }
        for entry in entries:
            datasets[list_dataset(entry["list"])][entry[KEY]] = {"subject": shown, **entry}
    return datasets


def titles(pack: Pack) -> Mapping[str, Mapping[str, str]]:
    found = dict(TITLES)
    for code, credit_list in pack.lists.items():
        found[list_dataset(code)] = credit_list.name.model_dump()
    return found
