"""The witness (C2SP tlog-witness add-checkpoint) and cosignatures (tlog-cosignature): a
consistent log is cosigned at every step, anything else is refused, a fork raises the alarm."""

import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from xinyong.ledger.bundle import BundleError, ConsistencyBundle, verify_bundle
from xinyong.ledger.checkpoint import CheckpointError, SigningKey, TreeHead, sign_checkpoint
from xinyong.ledger.cosignature import CosignerKey, cosign, cosignatures, note_text
from xinyong.ledger.merkle import consistency_proof, root_hash
from xinyong.ledger.witness import (
    WitnessRefusal,
    add_checkpoint,
    alarms,
    parse_request,
    request_body,
    witnessed,
)

LOG = SigningKey.generate("city.example/ledger")
WITNESS = SigningKey.generate("province.example/ledger")
LEAVES = [hashlib.sha256(f"leaf {n}".encode()).digest() for n in range(64)]
NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def note(size: int, key: SigningKey = LOG) -> str:
    return sign_checkpoint(TreeHead(size, root_hash(LEAVES[:size])), key).note


def submit(session: Session, old: int, size: int, proof: list[bytes] | None = None) -> str:
    if proof is None:
        proof = consistency_proof(old, LEAVES[:size]) if old else []
    request = parse_request(request_body(old, proof, note(size)))
    return add_checkpoint(session, request, {LOG.name: LOG.verifier}, WITNESS, NOW)


def refusal(factory: sessionmaker[Session], old: int, size: int, **kw: list[bytes]) -> int:
    with factory.begin() as session, pytest.raises(WitnessRefusal) as refused:
        submit(session, old, size, kw.get("proof"))
    return refused.value.status


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.integers(1, 8), min_size=1, max_size=6))
def test_a_growing_log_is_cosigned_at_every_step(
    factory: sessionmaker[Session], steps: list[int]
) -> None:
    origin = f"log{abs(hash(tuple(steps)))}.example/ledger"
    log = SigningKey.generate(origin)
    old = 0
    for step in steps:
        size = old + step
        signed = sign_checkpoint(TreeHead(size, root_hash(LEAVES[:size])), log)
        proof = consistency_proof(old, LEAVES[:size]) if old else []
        with factory.begin() as session:
            line = add_checkpoint(
                session,
                parse_request(request_body(old, proof, signed.note)),
                {origin: log.verifier},
                WITNESS,
                NOW,
            )
        [found] = cosignatures(signed.note + line, [CosignerKey.of(WITNESS.verifier)])
        assert (found.witness, found.timestamp) == (WITNESS.name, int(NOW.timestamp()))
        old = size
    with factory() as session:
        [held] = [row for row in witnessed(session) if row.origin == origin]
    assert held.tree_size == old


def test_an_old_size_other_than_the_one_cosigned_is_answered_with_it(
    factory: sessionmaker[Session],
) -> None:
    with factory.begin() as session:
        submit(session, 0, 5)
    with factory.begin() as session, pytest.raises(WitnessRefusal) as refused:
        submit(session, 3, 9)
    assert (refused.value.status, refused.value.size) == (409, 5)
    with factory.begin() as session:
        submit(session, 5, 9)


def test_unknown_logs_other_signers_and_bad_requests_are_refused(
    factory: sessionmaker[Session],
) -> None:
    stranger = sign_checkpoint(TreeHead(3, root_hash(LEAVES[:3])), SigningKey.generate("x.example"))
    impostor = sign_checkpoint(TreeHead(3, root_hash(LEAVES[:3])), SigningKey.generate(LOG.name))
    with factory.begin() as session:
        for signed, status in ((stranger, 404), (impostor, 403)):
            with pytest.raises(WitnessRefusal) as refused:
                add_checkpoint(
                    session,
                    parse_request(request_body(0, [], signed.note)),
                    {LOG.name: LOG.verifier},
                    WITNESS,
                    NOW,
                )
            assert refused.value.status == status
    for body in (b"", b"old -1\n\nx", b"old 0\nnot base64!\n\nx", b"\xff\xfe", b"old 0\n" * 70):
        with pytest.raises(WitnessRefusal) as refused:
            parse_request(body)
        assert refused.value.status == 400


def test_a_fork_is_refused_and_kept_as_evidence(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        submit(session, 0, 8)
    other = sign_checkpoint(TreeHead(8, hashlib.sha256(b"another history").digest()), LOG)
    with factory.begin() as session, pytest.raises(WitnessRefusal) as same_size:
        add_checkpoint(
            session,
            parse_request(request_body(8, [], other.note)),
            {LOG.name: LOG.verifier},
            WITNESS,
            NOW,
        )
    assert same_size.value.status == 409 and "fork" in same_size.value.detail
    # A larger tree whose proof does not lead back to the cosigned one.
    bogus = [hashlib.sha256(b"bogus").digest()] * 3
    assert refusal(factory, 8, 12, proof=bogus) == 422
    with factory() as session:
        raised = alarms(session)
        [held] = witnessed(session)
    assert len(raised) == 2 and all(alarm.cosigned_note == note(8) for alarm in raised)
    assert {alarm.shown_note for alarm in raised} >= {other.note}
    assert held.tree_size == 8  # nothing moved on a fork


def test_a_bundle_checks_the_cosignatures_it_carries_and_a_quorum() -> None:
    text_old, text_new = note(4), note(10)
    line = cosign(note_text(text_new), WITNESS, int(NOW.timestamp()))
    witness = CosignerKey.of(WITNESS.verifier)
    bundle = ConsistencyBundle(
        key=LOG.verifier.encode(),
        old_checkpoint=text_old,
        checkpoint=text_new + line,
        proof=[element.hex() for element in consistency_proof(4, LEAVES[:10])],
        witnesses=[witness.encode()],
    )
    verdict = verify_bundle(bundle, LOG.verifier, [witness], 1)
    assert [found.witness for found in verdict.cosigned_by] == [WITNESS.name]
    other = CosignerKey.of(SigningKey.generate("nation.example/ledger").verifier)
    with pytest.raises(BundleError, match="2 are required"):
        verify_bundle(bundle, LOG.verifier, [witness, other], 2)
    altered = bundle.model_copy(update={"checkpoint": text_new + line.replace("A", "B", 1)})
    with pytest.raises((BundleError, CheckpointError)):
        verify_bundle(altered, LOG.verifier, [witness], 1)
