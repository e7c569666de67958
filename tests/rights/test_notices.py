"""Notices: the outbox, delivery through a real SMTP server on 127.0.0.1, retries, leases."""

import asyncio
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from xinyong.config import Settings
from xinyong.records.models import Subject
from xinyong.rights.notices import (
    Backoff,
    deliver_due,
    enqueue_notice,
    notices_for,
    set_contact,
)
from xinyong.rights.notices_models import NoticeRow
from xinyong.rights.transports import OutgoingNotice, get_transport
from xinyong.testing.samples import person

from .conftest import concurrently


@dataclass
class Mailbox:
    """What an SMTP server on 127.0.0.1 accepted, and the reply it gives to DATA."""

    reply: str = "250 Message accepted for delivery"
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        if self.reply.startswith("250"):
            message = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            with self.lock:
                self.messages.append(message)
        await asyncio.sleep(0.005)  # a real server takes a moment: lets senders overlap
        return self.reply

    def notice_ids(self) -> list[int]:
        return sorted(int(message["X-Xinyong-Notice"]) for message in self.messages)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mailbox(smtp_port: int) -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def smtp_settings(smtp_port: int) -> Settings:
    return Settings(
        smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_from="notices@xinyong.test", smtp_timeout=5
    )


def add_subject(factory: sessionmaker[Session], index: int, email: str | None) -> int:
    with factory.begin() as session:
        subject = Subject(
            identifier=person(index), kind="person", name="张三", created_at=datetime.now(UTC)
        )
        session.add(subject)
        session.flush()
        if email is not None:
            set_contact(session, subject.id, email)
        return subject.id


def enqueue(factory: sessionmaker[Session], subject_id: int, count: int = 1) -> None:
    with factory.begin() as session:
        for number in range(count):
            enqueue_notice(
                session,
                subject_id=subject_id,
                kind="listing",
                title=f"您已被列入失信被执行人名单 {number}",
                body="依据(2024)京0105执1234号，您自2024年3月5日起被列入失信被执行人名单。",
                reference=f"entry:{number}",
            )


def outbox(factory: sessionmaker[Session]) -> list[NoticeRow]:
    with factory() as session:
        return list(session.scalars(select(NoticeRow).order_by(NoticeRow.id)))


def test_a_notice_arrives_with_its_chinese_title_and_body(
    factory: sessionmaker[Session], mailbox: Mailbox, smtp_settings: Settings
) -> None:
    subject = add_subject(factory, 1, "zhangsan@example.cn")
    enqueue(factory, subject)

    summary = deliver_due(factory, get_transport(smtp_settings, "smtp"))

    assert summary.sent == 1
    [message] = mailbox.messages
    assert message["Subject"] == "您已被列入失信被执行人名单 0"
    assert message["To"] == "zhangsan@example.cn"
    assert message["From"] == "notices@xinyong.test"
    assert message.get_content().strip() == (
        "依据(2024)京0105执1234号，您自2024年3月5日起被列入失信被执行人名单。"
    )
    [row] = outbox(factory)
    assert (row.status, row.attempts, row.sent_to) == ("sent", 1, "zhangsan@example.cn")
    assert row.sent_at is not None and row.claimed_by is None
    # Nothing is due any more: a second run sends nothing.
    assert deliver_due(factory, get_transport(smtp_settings, "smtp")).sent == 0
    assert len(mailbox.messages) == 1


@pytest.mark.parametrize("reply", ["554 5.7.1 Message refused", "451 4.3.0 Try again later"])
def test_a_refused_message_stays_unsent_and_waits_longer(
    factory: sessionmaker[Session], mailbox: Mailbox, smtp_settings: Settings, reply: str
) -> None:
    mailbox.reply = reply
    subject = add_subject(factory, 2, "lisi@example.cn")
    enqueue(factory, subject)
    smtp = get_transport(smtp_settings, "smtp")
    start = datetime.now(UTC)
    backoff = Backoff(first=timedelta(minutes=1), cap=timedelta(minutes=3))

    first = deliver_due(factory, smtp, now=lambda: start, backoff=backoff)

    assert (first.sent, first.failed) == (0, 1)
    [row] = outbox(factory)
    assert row.status == "pending" and row.sent_at is None and row.attempts == 1
    assert reply.split()[0] in (row.last_error or "")
    assert _aware(row.next_attempt_at) == start + timedelta(minutes=1)
    # Not due before then; each further failure doubles the wait, up to the cap.
    assert deliver_due(factory, smtp, now=lambda: start + timedelta(seconds=59)).failed == 0
    waits = []
    for _ in range(3):
        due = _aware(outbox(factory)[0].next_attempt_at)
        deliver_due(factory, smtp, now=partial(_clock, due), backoff=backoff)
        waits.append(_aware(outbox(factory)[0].next_attempt_at) - due)
    assert waits == [timedelta(minutes=2), timedelta(minutes=3), timedelta(minutes=3)]
    assert outbox(factory)[0].attempts == 4
    assert mailbox.messages == []


def test_server_down_then_up_delivers_exactly_once(
    factory: sessionmaker[Session], smtp_port: int, smtp_settings: Settings
) -> None:
    subject = add_subject(factory, 3, "wangwu@example.cn")
    enqueue(factory, subject, count=2)
    smtp = get_transport(smtp_settings, "smtp")
    start = datetime.now(UTC)

    down = deliver_due(factory, smtp, now=lambda: start)
    assert (down.sent, down.failed) == (0, 2)
    assert all(row.attempts == 1 and row.status == "pending" for row in outbox(factory))

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        later = start + timedelta(hours=1)
        up = deliver_due(factory, smtp, now=lambda: later)
        again = deliver_due(factory, smtp, now=lambda: later + timedelta(days=1))
    finally:
        controller.stop()
    assert (up.sent, again.sent) == (2, 0)
    assert box.notice_ids() == [row.id for row in outbox(factory)]
    assert all(row.status == "sent" and row.attempts == 2 for row in outbox(factory))


def test_concurrent_senders_never_send_a_notice_twice(
    store_url: str, factory: sessionmaker[Session], mailbox: Mailbox, smtp_settings: Settings
) -> None:
    subject = add_subject(factory, 4, "zhaoliu@example.cn")
    enqueue(factory, subject, count=40)
    results = concurrently(
        store_url,
        3,
        lambda own: deliver_due(own, get_transport(smtp_settings, "smtp"), batch=4),
    )

    assert sum(result.sent for result in results) == 40
    assert mailbox.notice_ids() == [row.id for row in outbox(factory)]
    assert all(row.status == "sent" and row.attempts == 1 for row in outbox(factory))


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_starttls_is_used_and_verified_when_configured(
    factory: sessionmaker[Session], tmp_path: Path, smtp_port: int, smtp_settings: Settings
) -> None:
    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    box = Mailbox()
    controller = Controller(
        box, hostname="127.0.0.1", port=smtp_port, tls_context=server_tls, require_starttls=True
    )
    controller.start()
    try:
        subject = add_subject(factory, 8, "zhengshi@example.cn")
        enqueue(factory, subject)
        start = datetime.now(UTC)
        # Without STARTTLS this server refuses the mail; an unknown CA fails the handshake.
        plain = deliver_due(factory, get_transport(smtp_settings, "smtp"), now=lambda: start)
        untrusted = smtp_settings.model_copy(update={"smtp_starttls": True})
        later = start + timedelta(hours=1)
        refused = deliver_due(factory, get_transport(untrusted, "smtp"), now=lambda: later)
        trusted = untrusted.model_copy(update={"smtp_ca_file": cert})
        last = later + timedelta(hours=1)
        sent = deliver_due(factory, get_transport(trusted, "smtp"), now=lambda: last)
    finally:
        controller.stop()
    assert (plain.failed, refused.failed, sent.sent) == (1, 1, 1)
    [message] = box.messages
    assert message["Subject"] == "您已被列入失信被执行人名单 0"
    assert outbox(factory)[0].attempts == 3


def test_a_lapsed_lease_lets_another_sender_finish_the_job(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    subject = add_subject(factory, 5, "sunqi@example.cn")
    enqueue(factory, subject)
    start = datetime.now(UTC)
    with factory.begin() as session:
        row = session.scalars(select(NoticeRow)).one()
        # A sender claimed the notice and died before marking it.
        row.claimed_by, row.claimed_until = "crashed", start + timedelta(minutes=10)
    transport = get_transport(Settings(notice_file=tmp_path / "out.jsonl"), "file")

    assert deliver_due(factory, transport, now=lambda: start).sent == 0
    assert deliver_due(factory, transport, now=lambda: start + timedelta(minutes=11)).sent == 1
    [line] = (tmp_path / "out.jsonl").read_bytes().splitlines()
    assert orjson.loads(line)["to"] == "sunqi@example.cn"


def test_a_sender_slower_than_its_lease_leaves_the_rest_to_the_next(
    factory: sessionmaker[Session],
) -> None:
    subject = add_subject(factory, 9, "qianshi@example.cn")
    enqueue(factory, subject, count=3)
    clock = [datetime.now(UTC)]
    sent: list[int] = []

    class Server:
        """Records what it accepted; a message takes no time."""

        def send(self, notice: OutgoingNotice) -> None:
            sent.append(notice.id)

    class SlowServer(Server):
        """Takes 6 minutes a message: the third's 10-minute lease lapses while the second is in
        flight, and another sender, started then, takes the third over."""

        def send(self, notice: OutgoingNotice) -> None:
            super().send(notice)
            clock[0] += timedelta(minutes=6)
            if len(sent) == 2:
                deliver_due(factory, Server(), now=lambda: clock[0], lease=timedelta(minutes=10))

    deliver_due(factory, SlowServer(), now=lambda: clock[0], lease=timedelta(minutes=10))

    assert sorted(sent) == [row.id for row in outbox(factory)]
    assert all(row.status == "sent" and row.attempts == 1 for row in outbox(factory))


def test_a_subject_without_address_keeps_its_notice_until_one_is_set(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    subject = add_subject(factory, 6, None)
    enqueue(factory, subject)
    transport = get_transport(Settings(notice_file=tmp_path / "out.jsonl"), "file")

    held = deliver_due(factory, transport)
    assert (held.sent, held.no_address) == (0, 1)
    with factory() as session:
        [notice] = notices_for(session, subject)
    assert notice["status"] == "no_address" and notice["sent_at"] is None
    assert not (tmp_path / "out.jsonl").exists()

    with factory.begin() as session:
        assert set_contact(session, subject, "zhouba@example.cn") == 1
    assert deliver_due(factory, transport).sent == 1
    [line] = (tmp_path / "out.jsonl").read_bytes().splitlines()
    sent = orjson.loads(line)
    assert sent["to"] == "zhouba@example.cn" and sent["title"].startswith("您已被列入")


def test_a_notice_is_written_only_if_its_change_commits(factory: sessionmaker[Session]) -> None:
    subject = add_subject(factory, 7, "wujiu@example.cn")
    with pytest.raises(RuntimeError), factory.begin() as session:
        enqueue_notice(session, subject_id=subject, kind="listing", title="t", body="b")
        raise RuntimeError("the change failed")
    assert outbox(factory) == []


def test_an_unknown_transport_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="no notice transport named 'pigeon'"):
        get_transport(Settings(), "pigeon")


def _clock(moment: datetime) -> datetime:
    return moment


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive UTC, PostgreSQL aware values.
    return value if value.tzinfo else value.replace(tzinfo=UTC)
