"""``/v1/public/...`` (search, public files, published defaulters) and ``/v1/stats/...``: anyone."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from xinyong.clock import china_today
from xinyong.identifiers.regions import region_name
from xinyong.ledger.api import MAX_POSITION, PENDING_RESPONSE, ledger_key, pending_answer, refuse
from xinyong.ledger.bundle import InclusionBundle, NotYetProvable, inclusion_bundle
from xinyong.ledger.checkpoint import VerifierKey
from xinyong.ledger.merkle import ProofError
from xinyong.ledger.service import LedgerDamaged, NotInLedger
from xinyong.policy import Pack
from xinyong.portal.public_file import defaulters, public_file, public_proof_members
from xinyong.portal.stats import SECTIONS
from xinyong.search.index import SearchIndex
from xinyong.search.publish import IndexShelf
from xinyong.web.types import Code, Line, SubjectRef

router = APIRouter(prefix="/v1", tags=["public portal"])

Q = Annotated[
    Line,
    Query(
        min_length=1,
        max_length=100,
        description="a USCC or resident identity number (exact), or a name in Chinese or pinyin",
    ),
]
Limit = Annotated[int, Query(ge=1, le=50, description="at most this many hits")]
Page = Annotated[int, Query(ge=1, le=100_000, description="page number, from 1")]


def live_index(request: Request) -> SearchIndex:
    shelf: IndexShelf = request.app.state.search
    index = shelf.current()
    if index is None:
        raise HTTPException(503, "the search index is not built yet: run `xinyong evaluate`")
    return index


def checked_list(request: Request, list_code: str | None) -> str | None:
    pack: Pack = request.app.state.pack
    if list_code is not None and list_code not in pack.lists:
        raise HTTPException(422, f"list: no list {list_code!r}; one of {', '.join(pack.lists)}")
    return list_code


@router.get("/public/search")
def search(request: Request, q: Q, limit: Limit = 20) -> dict[str, Any]:
    """Organisations by name, USCC or pinyin; persons only while published defaulters.

    Each hit has ``ref`` (the link to its public file), ``kind``, ``name``, ``id`` (the USCC,
    or a masked identity number), ``region`` (the six-digit GB/T 2260 division code, or null),
    ``region_name`` (that division's name, such as 北京市海淀区; null for a code that names no
    known division) and ``score`` (0-100, how well the name matched).
    """
    hits = live_index(request).search(q, limit)
    return {"hits": [{**hit.as_dict(), "region_name": region_name(hit.region)} for hit in hits]}


@router.get("/public/subjects/{ref}")
def subject(request: Request, ref: SubjectRef) -> dict[str, Any]:
    """A subject's public file: registration, legal representative, public records, entries.

    ``ref`` is a USCC, or a person's subject number from a search hit (or their resident
    identity number). Persons have a public file only while published defaulters.
    """
    with request.app.state.sessionmaker() as session:
        found = public_file(session, request.app.state.pack, ref, china_today())
    if found is None:
        raise HTTPException(404, "no public file for this subject")
    return found


@router.get(
    "/public/proof/inclusion",
    response_model=InclusionBundle,
    responses={
        **PENDING_RESPONSE,
        404: {"description": "no public record is logged by this event (or no longer)"},
    },
)
def public_proof(
    request: Request,
    key: Annotated[VerifierKey, Depends(ledger_key)],
    event: Annotated[int, Query(ge=0, le=MAX_POSITION, description="the record's ledger event")],
) -> InclusionBundle | JSONResponse:
    """The proof of inclusion ("收录证明") of a record on a public file: the ledger event that
    logged it, opened as far as the file shows the record (decision, masked identifier, shown
    fields) and no further. Only while the record is public."""
    pack: Pack = request.app.state.pack
    with request.app.state.sessionmaker() as session:
        members = public_proof_members(session, pack, event, china_today())
        if members is None:
            raise HTTPException(404, f"event {event} logs no record that is public today")
        try:
            return inclusion_bundle(
                session,
                event,
                None,
                key,
                members,
                interval=request.app.state.settings.checkpoint_interval,
            )
        except NotYetProvable as error:
            return pending_answer(error)
        except (NotInLedger, ProofError, LedgerDamaged) as error:
            raise refuse(error) from None


@router.get("/public/defaulters")
def published_defaulters(
    request: Request, page: Page = 1, list_code: Annotated[Code | None, Query(alias="list")] = None
) -> dict[str, Any]:
    """Black-list entries in force that rest on public records, identity numbers masked."""
    wanted = checked_list(request, list_code)
    with request.app.state.sessionmaker() as session:
        return defaulters(session, request.app.state.pack, china_today(), page, wanted)


@router.get("/stats")
def stats_sections(request: Request) -> dict[str, Any]:
    """The statistics sections this platform has data for."""
    shown = request.app.state.stats.sections(
        request.app.state.sessionmaker, request.app.state.pack, china_today()
    )
    return {
        "sections": [
            {"code": code, "title": SECTIONS[code].title, "url": f"/v1/stats/{code}"}
            for code in shown
        ]
    }


@router.get("/stats/{section}")
def stats(request: Request, section: Code) -> dict[str, Any]:
    """One section's aggregates (counts per month, list, region, action and effect)."""
    shown = request.app.state.stats.sections(
        request.app.state.sessionmaker, request.app.state.pack, china_today()
    )
    if section not in shown:
        raise HTTPException(404, f"no statistics section {section!r}")
    found: dict[str, Any] = shown[section]
    return found
