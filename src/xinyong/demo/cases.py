"""The demo's redress cases, so that the reviewer (and the court's clerk, when the listing is
its court's) finds work waiting and a subject follows its requests: one subject, signed in as
``demo-applicant``, objects to a court listing together with the consumption restriction of the
same case, applies for the repair of a penalty, and had an earlier objection decided.

They are filed through the rights services, as the subject's page and the reviewer's console
file and decide them, once, when the demo makes its accounts.
"""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.clock import china_today, utc_now
from xinyong.policy import Disclosure, Pack, Polarity
from xinyong.records.models import Record, RecordHead, Subject
from xinyong.rights import reviews
from xinyong.rights.cases import same_case
from xinyong.rights.evidence import check_evidence
from xinyong.rights.objections import file_objection
from xinyong.rights.repairs import apply_for_repair, eligibility
from xinyong.testing import samples

DECIDED_AFTER = timedelta(days=6)
"""How long the decided objection waited for its decision."""
RECEIVED_BEFORE = timedelta(days=20)
"""How long ago the decided objection was received."""


@dataclass(frozen=True, slots=True)
class Applicant:
    """A subject whose file allows every kind of case, and the records each case is about."""

    subject_id: int
    identifier: str
    listing: str
    same_case: tuple[str, ...]
    repaired: str
    decided: str


def choose_applicant(
    session: Session, pack: Pack, court: str, taken: set[str | None]
) -> Applicant | None:
    """The first subject (not one of ``taken``, preferring listings by ``court``) with a court
    listing that has other records of its case, a public penalty it may apply to have repaired
    today, and one more record (a penalty, where it has one) to have objected to."""
    listings = session.execute(
        select(Subject.id, Subject.identifier, Record)
        .join(Record, Record.subject_id == Subject.id)
        .join(RecordHead, RecordHead.record_id == Record.id)
        .where(Record.record_type == "court.defaulter_listing", RecordHead.status == "active")
        .order_by(Record.authority != court, Subject.id, Record.id)
    ).all()
    today = china_today()
    for subject_id, identifier, listing in listings:
        siblings = same_case(session, pack, listing)
        if identifier in taken or not siblings:
            continue
        used = {listing.document_key, *(record.document_key for record in siblings)}
        others = [
            record
            for record in session.scalars(
                select(Record)
                .join(RecordHead, RecordHead.record_id == Record.id)
                .where(Record.subject_id == subject_id, RecordHead.status == "active")
                .order_by(Record.id)
            )
            if record.document_key not in used
        ]
        repairable = next(
            (
                record.document_key
                for record in others
                if _public_negative(pack, record.record_type)
                and eligibility(session, pack, subject_id, record.document_key, today).eligible
            ),
            None,
        )
        # Objected to the way people do: a penalty they think wrong, else any other record.
        decided = next(
            (
                record.document_key
                for record in sorted(
                    others, key=lambda record: not _public_negative(pack, record.record_type)
                )
                if record.document_key != repairable
            ),
            None,
        )
        if repairable is not None and decided is not None:
            return Applicant(
                subject_id,
                identifier,
                listing.document_key,
                tuple(record.document_key for record in siblings),
                repairable,
                decided,
            )
    return None


def _public_negative(pack: Pack, record_type: str) -> bool:
    kind = pack.record_types.get(record_type)
    return (
        kind is not None
        and kind.disclosure is Disclosure.PUBLIC
        and kind.polarity is Polarity.NEGATIVE
    )


def file_cases(
    factory: sessionmaker[Session],
    pack: Pack,
    applicant: Applicant,
    *,
    account_id: int,
    reviewer: reviews.Reviewer,
    var_dir: Path,
) -> None:
    """File the applicant's cases: the objection decided weeks ago first, then the open
    objection (one application with the other records of the listing's case) and the open
    repair application, each with a photo and a scanned document as evidence."""
    now = utc_now()
    evidence = check_evidence(
        [("receipt.png", samples.png(320, 200)), ("ruling.pdf", samples.pdf())]
    )
    with factory.begin() as session:
        earlier = file_objection(
            session,
            pack,
            subject_id=applicant.subject_id,
            account_id=account_id,
            record=applicant.decided,
            entry=None,
            grounds="记录中的金额与决定书不一致，见附件。",
            evidence=evidence,
            var_dir=var_dir,
            now=now - RECEIVED_BEFORE,
        ).id
    reviews.decide(
        factory,
        pack,
        reviewer,
        earlier,
        reviews.Decision("rejected", "经向提供单位核实，记录与决定书一致，异议不成立。"),
        now - RECEIVED_BEFORE + DECIDED_AFTER,
    )
    with factory.begin() as session:
        file_objection(
            session,
            pack,
            subject_id=applicant.subject_id,
            account_id=account_id,
            record=applicant.listing,
            entry=None,
            grounds="执行款已在纳入名单前全部履行，法院的结案通知书见附件。",
            evidence=evidence,
            var_dir=var_dir,
            now=now,
            also=applicant.same_case,
        )
        apply_for_repair(
            session,
            pack,
            subject_id=applicant.subject_id,
            account_id=account_id,
            record=applicant.repaired,
            statement="罚款已按期缴清，违法行为已整改完毕。",
            obligations_performed=True,
            commitment_signed=True,
            commitment="本人承诺所提交材料真实有效，今后依法诚信经营。",
            now=now,
            evidence=evidence,
            var_dir=var_dir,
        )
