"""Records that name their subject by a code from before the USCC, linked to a known subject.

Until 2015 an organisation was named by a 15-digit business registration number and a 9-digit
organisation code; old records and some offices' exports still carry only those. Such a row is
linked to the one subject whose USCC embeds the organisation code (positions 9-17), or whose
registration record carries the registration number. When no subject, or more than one, matches,
the row is refused with the reason: a guess would put one organisation's penalty on another's
file. Every link is kept beside the record (:class:`LegacyLink`), with the code and the column
it came from, and shown with the record's provenance in the subject's file.
"""

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.ingest.models import LegacyLink
from xinyong.ingest.profile import LegacyCode
from xinyong.policy.profiles import IdentifierRole
from xinyong.records.models import (
    ORGANISATION,
    Record,
    Subject,
    embedded_organisation_code,
    of_types,
    registration_number,
)
from xinyong.store.bulk import among, chunked

WORDS = {
    IdentifierRole.ORGANISATION_CODE: "organisation code",
    IdentifierRole.REGISTRATION_NUMBER: "registration number",
}


@dataclass(frozen=True, slots=True)
class Unlinked:
    """Why a legacy code names no single subject."""

    reason: str


def resolve(
    session: Session, codes: Iterable[LegacyCode], registration_types: Collection[str]
) -> dict[tuple[IdentifierRole, str], str | Unlinked]:
    """For each legacy code (upper-cased), the USCC of the one subject it names, or why there
    is none. One query per kind of code for the whole batch."""
    wanted: dict[IdentifierRole, set[str]] = defaultdict(set)
    for legacy in codes:
        wanted[legacy.role].add(legacy.code.upper())
    matches: dict[tuple[IdentifierRole, str], set[str]] = defaultdict(set)
    connection = session.connection()
    # Each read is served by an index on its expression (ix_subjects_organisation_code,
    # ix_records_registration_no): a batch's few codes read a few rows, however large the
    # store. The filters repeat the indexes' conditions word for word, so the planner may use
    # them; the type is a filter no index serves, or SQLite would read every registration.
    embedded = embedded_organisation_code()
    for chunk in chunked(sorted(wanted[IdentifierRole.ORGANISATION_CODE])):
        rows = session.execute(
            select(embedded, Subject.identifier).where(
                Subject.kind == ORGANISATION, among(connection, embedded, chunk)
            )
        )
        for code, identifier in rows:
            matches[(IdentifierRole.ORGANISATION_CODE, code)].add(identifier)
    number = registration_number()
    for chunk in chunked(sorted(wanted[IdentifierRole.REGISTRATION_NUMBER])):
        rows = session.execute(
            select(number, Subject.identifier)
            .join(Subject, Subject.id == Record.subject_id)
            .where(
                number.is_not(None),
                among(connection, number, chunk),
                of_types(registration_types),
            )
        )
        for code, identifier in rows:
            matches[(IdentifierRole.REGISTRATION_NUMBER, code)].add(identifier)
    return {
        (role, code): _answer(role, code, matches[(role, code)])
        for role, codes_of_role in wanted.items()
        for code in codes_of_role
    }


def _answer(role: IdentifierRole, code: str, subjects: set[str]) -> str | Unlinked:
    if len(subjects) == 1:
        return next(iter(subjects))
    words = WORDS[role]
    if not subjects:
        return Unlinked(
            f"no subject known to the platform has the {words} {code}: "
            "send the unified social credit code"
        )
    shown = ", ".join(sorted(subjects)[:3])
    return Unlinked(
        f"the {words} {code} matches {len(subjects)} subjects ({shown}): "
        "send the unified social credit code"
    )


def record_links(session: Session, links: Iterable[tuple[int, LegacyCode]], now: datetime) -> None:
    """Keep, for each (record id, code), that the record's subject was found by the code."""
    session.add_all(
        LegacyLink(
            record_id=record_id,
            role=str(code.role),
            code=code.code,
            column_name=code.column,
            linked_at=now,
        )
        for record_id, code in links
    )


def links_of(session: Session, record_ids: Collection[int]) -> Mapping[int, dict[str, str]]:
    """How each of ``record_ids`` that was linked by a legacy code was linked."""
    found: dict[int, dict[str, str]] = {}
    connection = session.connection()
    for chunk in chunked(sorted(record_ids)):
        for link in session.scalars(
            select(LegacyLink).where(among(connection, LegacyLink.record_id, chunk))
        ):
            found[link.record_id] = {
                "by": link.role,
                "code": link.code,
                "column": link.column_name,
            }
    return found
