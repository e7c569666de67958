"""The demo's accounts: a listed court defaulter, an organisation's representative, a subject
with redress cases open and decided (``xinyong.demo.cases``), and staff.

Made once and kept in ``var/demo/accounts.json`` (passwords included: this is a demo) so that
reruns print the same.
"""

import secrets
from itertools import groupby
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.accounts.service import create_account
from xinyong.clock import china_today
from xinyong.demo.cases import choose_applicant, file_cases
from xinyong.enforcement.models import EntryRow
from xinyong.policy import Category, Disclosure, Polarity, pack_in_force
from xinyong.records.models import Record, RecordHead, Subject
from xinyong.rights import reviews
from xinyong.rights.notices import set_contact
from xinyong.rights.repairs import eligibility
from xinyong.search.publicity import is_public

COURT = "court.110105"


def _listed_defaulter(session: Session) -> str | None:
    """A person on the court defaulter list, preferring the court's own records."""
    return session.scalar(
        select(Subject.identifier)
        .join(EntryRow, EntryRow.subject_id == Subject.id)
        .join(Record, Record.id == EntryRow.record_id)
        .where(EntryRow.list_code == "court.defaulters", Subject.kind == "person")
        .order_by((Record.authority != COURT), EntryRow.ended_on.desc(), Subject.id)
        .limit(1)
    )


def _organisation_with_records(session: Session) -> str | None:
    """An organisation with records, preferring one on a list (its file shows more) whose file
    shows a subject's rights at work: a record the public sees today besides its registration,
    a shared record (a rating only it and staff see), and a first public negative record it
    may apply to have repaired today."""
    pack = pack_in_force()
    today = china_today()
    listed = select(EntryRow.id).where(EntryRow.subject_id == Subject.id).exists()
    rows = session.execute(
        select(Subject.id, Subject.identifier, RecordHead.status, Record)
        .join(Record, Record.subject_id == Subject.id)
        .join(RecordHead, RecordHead.record_id == Record.id)
        .where(Subject.kind == "organisation")
        .order_by(listed.desc(), Subject.id, Record.id)
    ).all()
    for (subject_id, identifier), group in groupby(rows, key=lambda row: tuple(row[:2])):
        typed = [
            (row.status, row.Record, kind)
            for row in group
            if (kind := pack.record_types.get(row.Record.record_type)) is not None
        ]
        shown = [
            record
            for status, record, kind in typed
            if kind.category is not Category.REGISTRATION
            and is_public(
                pack, record.record_type, record.severity, record.decided_on, status, today
            )
        ]
        negative = next(
            (
                record.document_key
                for _, record, kind in typed
                if kind.disclosure is Disclosure.PUBLIC and kind.polarity is Polarity.NEGATIVE
            ),
            None,
        )
        if (
            shown
            and negative is not None
            and any(kind.disclosure is Disclosure.SHARED for _, _, kind in typed)
            and eligibility(session, pack, subject_id, negative, today).eligible
        ):
            return str(identifier)
    return str(rows[0].identifier) if rows else None


def demo_accounts(factory: sessionmaker[Session], var: Path) -> list[dict[str, Any]]:
    """The demo's accounts (username, password, role, what they are linked to), made with
    the applicant's cases the first time."""
    path = var / "demo" / "accounts.json"
    if path.exists():
        accounts: list[dict[str, Any]] = orjson.loads(path.read_bytes())
        return accounts
    accounts = []
    pack = pack_in_force()
    ids: dict[str, int] = {}
    with factory.begin() as session:
        defaulter, representative = _listed_defaulter(session), _organisation_with_records(session)
        applicant = choose_applicant(session, pack, COURT, {defaulter, representative})
        wanted: list[tuple[str, str, str | None, str | None]] = [
            ("defaulter", "subject", defaulter, None),
            ("org-rep", "subject", representative, None),
            ("applicant", "subject", applicant.identifier if applicant else None, None),
            ("operator", "operator", None, None),
            ("reviewer", "reviewer", None, None),
            ("auditor", "auditor", None, None),
            ("court-clerk", "authority", None, COURT),
        ]
        for username, role, subject, authority in wanted:
            if role == "subject" and subject is None:
                continue
            password = secrets.token_urlsafe(9)
            ids[username] = create_account(
                session,
                username=f"demo-{username}",
                password=password,
                role=role,
                subject_identifier=subject,
                authority_code=authority,
            )
            if subject is not None:
                # The demo's notices go to the file transport (var/notices.jsonl) by default.
                subject_id = session.scalar(select(Subject.id).where(Subject.identifier == subject))
                if subject_id is not None:
                    set_contact(session, subject_id, f"{username}@demo.invalid")
            accounts.append(
                {
                    "username": f"demo-{username}",
                    "password": password,
                    "role": role,
                    "subject": subject,
                    "authority": authority,
                }
            )
    if applicant is not None:
        file_cases(
            factory,
            pack,
            applicant,
            account_id=ids["applicant"],
            reviewer=reviews.Reviewer(ids["reviewer"], reviews.REVIEWER, None, "demo-reviewer"),
            var_dir=var,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(accounts, option=orjson.OPT_INDENT_2))
    return accounts
