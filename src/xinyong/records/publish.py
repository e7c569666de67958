"""Publishing a policy pack into the store: its authorities, its version, its digest on the ledger."""

import orjson
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from xinyong.clock import utc_now
from xinyong.ledger import LeafInput, append
from xinyong.policy import Pack
from xinyong.records.models import AuthorityRow, PolicyPublication


def publish_pack(session: Session, pack: Pack) -> bool:
    """Record ``pack`` as published; returns False when this exact version is already current."""
    latest = session.scalars(
        select(PolicyPublication)
        .where(PolicyPublication.name == pack.name)
        .order_by(PolicyPublication.id.desc())
    ).first()
    if latest is not None and latest.digest == pack.digest:
        return False
    session.execute(delete(AuthorityRow))
    session.execute(
        insert(AuthorityRow),
        [
            {
                "code": authority.code,
                "name_zh": authority.name.zh,
                "name_en": authority.name.en,
                "kind": str(authority.kind),
                "level": str(authority.level),
                "region": authority.region,
                "registration_authority": authority.registration_authority,
            }
            for authority in pack.authorities.values()
        ],
    )
    now = utc_now()
    publication = PolicyPublication(
        name=pack.name, version=pack.version, digest=pack.digest, published_at=now
    )
    session.add(publication)
    session.flush()
    payload = orjson.dumps(
        {
            "pack": pack.name,
            "version": pack.version,
            "digest": pack.digest,
            "published_at": now.isoformat(timespec="microseconds"),
        },
        option=orjson.OPT_SORT_KEYS,
    )
    append(session, [LeafInput("policy.published", str(publication.id), payload)])
    return True
