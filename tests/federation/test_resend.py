"""Where a link's cursor goes when the receiver says which batch it expects: on when this side was
restored, back when the receiver was, nowhere it cannot prove; and `resend --from`."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.federation.batches import FIRST
from xinyong.federation.inbox import hold_link
from xinyong.federation.models import LinkState, SentBatch
from xinyong.federation.resend import CannotResend, Expected, converge, resend_from

AT = datetime(2026, 11, 1, tzinfo=UTC)


def digest(number: int) -> str:
    return f"{number:064x}"


def sent(factory: sessionmaker[Session], acknowledged: int, kept: int = 0) -> None:
    """Batches 1..acknowledged acknowledged (batch n covers positions up to 10n), and ``kept``
    more signed and waiting."""
    with factory.begin() as session:
        state = hold_link(session, "beijing")
        for number in range(1, acknowledged + kept + 1):
            session.add(
                SentBatch(
                    link="beijing",
                    number=number,
                    digest=digest(number),
                    through=10 * number,
                    items=10,
                    body=None if number <= acknowledged else b"{}",
                    created_at=AT,
                    acknowledged_at=AT if number <= acknowledged else None,
                )
            )
        state.sent_number, state.sent_digest = acknowledged, digest(acknowledged)
        state.sent_through = 10 * acknowledged


def settle(factory: sessionmaker[Session], expected: Expected) -> tuple[str | None, LinkState]:
    with factory.begin() as session:
        problem = converge(session, hold_link(session, "beijing"), expected)
    with factory() as session:
        state = session.get(LinkState, "beijing")
        assert state is not None
        return problem, state


def numbers(factory: sessionmaker[Session]) -> list[int]:
    with factory() as session:
        return list(session.scalars(select(SentBatch.number).order_by(SentBatch.number)))


def test_a_receiver_where_the_sender_thinks_changes_nothing(
    factory: sessionmaker[Session],
) -> None:
    sent(factory, 5)
    problem, state = settle(factory, Expected(6, digest(5)))
    assert problem is None
    assert (state.sent_number, state.sent_through) == (5, 50)


def test_a_receiver_ahead_of_a_restored_sender_is_numbered_on_from_the_cursor(
    factory: sessionmaker[Session],
) -> None:
    sent(factory, 3, kept=1)
    problem, state = settle(factory, Expected(9, digest(8)))
    assert problem is None
    # Chained to the receiver's last batch; every event after the backup's cursor goes again.
    assert (state.sent_number, state.sent_digest, state.sent_through) == (8, digest(8), 30)
    assert numbers(factory) == [1, 2, 3, 4]


def test_a_restored_receiver_gets_everything_after_the_last_batch_it_still_holds(
    factory: sessionmaker[Session],
) -> None:
    sent(factory, 7)
    problem, state = settle(factory, Expected(4, digest(3)))
    assert problem is None
    assert (state.sent_number, state.sent_digest, state.sent_through) == (3, digest(3), 30)
    assert numbers(factory) == [1, 2, 3]  # 4 to 7 are built again


def test_a_receiver_restored_to_nothing_gets_everything(factory: sessionmaker[Session]) -> None:
    sent(factory, 4)
    problem, state = settle(factory, Expected(1, FIRST))
    assert problem is None
    assert (state.sent_number, state.sent_digest, state.sent_through) == (0, "", -1)
    assert numbers(factory) == []


@pytest.mark.parametrize(
    "expected",
    [Expected(6, digest(99)), Expected(4, digest(99)), Expected(1, digest(1))],
)
def test_a_receiver_whose_last_batch_this_side_did_not_sign_stops_the_link(
    factory: sessionmaker[Session], expected: Expected
) -> None:
    sent(factory, 5)
    problem, state = settle(factory, expected)
    assert problem is not None and "xinyong federation resend --link beijing" in problem
    assert (state.sent_number, state.sent_through) == (5, 50)
    assert numbers(factory) == [1, 2, 3, 4, 5]


def test_resend_moves_the_cursor_to_where_a_batch_began(factory: sessionmaker[Session]) -> None:
    sent(factory, 5, kept=1)
    with factory.begin() as session:
        state = hold_link(session, "beijing")
        with pytest.raises(CannotResend, match="up to 5"):
            resend_from(session, state, 7)
        with pytest.raises(CannotResend, match="from 1"):
            resend_from(session, state, 0)
        assert resend_from(session, state, 3) == 20
    with factory() as session:
        state = session.get(LinkState, "beijing")
        assert state is not None
        assert (state.sent_number, state.sent_digest, state.sent_through) == (2, digest(2), 20)
    assert numbers(factory) == [1, 2]
    # Then the receiver, still at 5, is ahead: numbering follows it, events after 20 go again.
    problem, state = settle(factory, Expected(6, digest(5)))
    assert problem is None
    assert (state.sent_number, state.sent_digest, state.sent_through) == (5, digest(5), 20)
    with factory.begin() as session:
        assert resend_from(session, hold_link(session, "beijing"), 1) == -1
