"""Finding a subject by any spelling of its identifier."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from xinyong.identifiers import normalise
from xinyong.records.models import Subject


class UnknownSubject(LookupError):
    pass


def find_subject(session: Session, raw_identifier: str) -> Subject:
    identifier = normalise(raw_identifier)
    subject = session.scalars(select(Subject).where(Subject.identifier == identifier)).first()
    if subject is None:
        raise UnknownSubject(f"no subject with identifier {identifier}")
    return subject
