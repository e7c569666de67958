"""The check journal: a process killed after answering has lost nothing, and the next process
to start moves into the store exactly what the store lacks, on both backends."""

import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.enforcement.checklog import CheckLog
from xinyong.enforcement.models import CheckLogGroup, CheckLogRow, checks_about
from xinyong.ledger import SigningKey, verify
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.testing import samples
from xinyong.testing.coroutines import run_alone
from xinyong.testing.store import migrated_sqlite

from .test_checklog import AIRLINE, decision

# A serving process in miniature: it answers ``answered`` checks (the last ``undrained`` of
# them after its loop last moved rows into the store) and dies without shutting down.
DYING_PROCESS = textwrap.dedent(
    """
    import asyncio, os, sys
    from datetime import date
    from pathlib import Path
    from xinyong.enforcement.checklog import Asker, CheckLog
    from xinyong.enforcement.decisions import Decision
    from xinyong.store.db import make_engine, make_sessionmaker
    from xinyong.testing import samples

    url, journals, answered, undrained = sys.argv[1], Path(sys.argv[2]), *map(int, sys.argv[3:])
    log = CheckLog(make_sessionmaker(make_engine(url)), journals)

    def decision(n):
        return Decision(f"{n:032x}", samples.person(n), True, "buy_air_ticket",
                        date(2026, 11, 1), "allow", (), (), (), "national@test", date(2026, 11, 2))

    async def serve():
        for n in range(answered - undrained):
            await log.write([decision(n)], Asker("k1", "airline"), "ticket sale")
        while log.pending():
            await asyncio.sleep(0.01)
        for n in range(answered - undrained, answered):
            await log.write([decision(n)], Asker("k1", "airline"), "ticket sale")
        os._exit(0)  # killed: no shutdown, no drain

    asyncio.run(serve())
    """
)


def die_after_answering(url: str, journals: Path, answered: int, undrained: int) -> None:
    subprocess.run(
        [sys.executable, "-c", DYING_PROCESS, url, str(journals), str(answered), str(undrained)],
        check=True,
    )


def rows(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        return list(session.scalars(select(CheckLogRow.decision_id).order_by(CheckLogRow.id)))


def test_what_a_killed_process_answered_is_moved_into_the_store_exactly_once(
    store_url: str, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    die_after_answering(store_url, tmp_path, answered=300, undrained=120)
    assert len(rows(factory)) == 180  # what its loop had moved before it died
    [journal] = tmp_path.glob("*.journal")
    with open(journal, "ab") as file:
        file.write(b'[301, "2026-12-0')  # a process killed inside its last write

    successor = CheckLog(factory, tmp_path)
    assert successor.start() == 120
    successor.stop()
    assert rows(factory) == [f"{n:032x}" for n in range(300)]
    assert not journal.exists()
    again = CheckLog(factory, tmp_path)
    assert again.start() == 0
    again.stop()
    assert len(rows(factory)) == 300
    with factory() as session:
        assert not session.scalars(select(CheckLogGroup.id).where(~CheckLogGroup.sealed)).all()
        about = session.scalars(checks_about(samples.person(250))).all()
        assert [row.decision_id for row in about] == [f"{250:032x}"]
        assert verify(session, SigningKey.generate().verifier).ok


def test_a_journal_whose_owner_lives_is_left_alone(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    owner = CheckLog(factory, tmp_path)

    async def answer() -> None:
        await owner.write([decision()], AIRLINE, "ticket sale")  # journalled; not yet drained

    run_alone(answer())
    other = CheckLog(factory, tmp_path)
    assert other.start() == 0
    other.stop()
    assert rows(factory) == []
    owner.stop()
    assert len(rows(factory)) == 1
    assert list(tmp_path.glob("*.journal")) == []


def test_a_journal_of_another_store_is_left_alone(
    store_url: str, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    elsewhere = migrated_sqlite(tmp_path / "elsewhere.db")
    die_after_answering(elsewhere, tmp_path / "journals", answered=10, undrained=10)
    successor = CheckLog(factory, tmp_path / "journals")
    assert successor.start() == 0
    successor.stop()
    assert rows(factory) == []
    assert len(list((tmp_path / "journals").glob("*.journal"))) == 1
    theirs = make_sessionmaker(make_engine(elsewhere))
    owner = CheckLog(theirs, tmp_path / "journals")
    assert owner.start() == 10
    owner.stop()
    with theirs() as session:
        assert session.scalar(select(func.count()).select_from(CheckLogRow)) == 10


# A serving process whose disk fills up: one check is journalled, then ten arrive in one turn
# of the event loop and their group's write gets only part of its bytes onto the disk.
FULL_DISK = textwrap.dedent(
    """
    import asyncio, os, resource, signal, sys
    from datetime import date
    from pathlib import Path
    from xinyong.enforcement.checklog import Asker, CheckLog
    from xinyong.enforcement.decisions import Decision
    from xinyong.store.db import make_engine, make_sessionmaker
    from xinyong.testing import samples

    url, journals = sys.argv[1], Path(sys.argv[2])
    log = CheckLog(make_sessionmaker(make_engine(url)), journals)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead

    def decision(n):
        return Decision(f"{n:032x}", samples.person(n), True, "buy_air_ticket",
                        date(2026, 11, 1), "allow", (), (), (), "national@test", date(2026, 11, 2))

    async def serve():
        await log.write([decision(0)], Asker("k1", "airline"), "ticket sale")
        [journal] = journals.glob("*.journal")
        size = journal.stat().st_size
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 300, resource.RLIM_INFINITY))
        answers = await asyncio.gather(
            *(log.write([decision(n)], Asker("k1", "airline"), "ticket sale")
              for n in range(1, 11)),
            return_exceptions=True,
        )
        print(" ".join(type(answer).__name__ for answer in answers))
        os._exit(0)  # killed before its loop moved anything into the store

    asyncio.run(serve())
    """
)


def test_a_group_the_disk_takes_only_in_part_is_refused_whole_and_leaves_no_entry(
    store_url: str, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    answers = subprocess.run(
        [sys.executable, "-c", FULL_DISK, store_url, str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    # The ten shared one write: all are refused (a write each would have let the first in).
    assert answers == ["CheckLogFailed"] * 10
    successor = CheckLog(factory, tmp_path)
    assert successor.start() == 1
    successor.stop()
    # The line of a refused check that did reach the disk was cut back: never logged.
    assert rows(factory) == [f"{0:032x}"]
