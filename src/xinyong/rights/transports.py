"""How a notice leaves the platform: one small interface, transports registered by name.

A transport's ``send`` returns only once the message was accepted (an SMTP server completed
the transaction, the line is in the file) and raises otherwise; the outbox marks a notice sent
on that return alone.
"""

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import orjson

from xinyong.accounts.reset import LIFETIME, ResetLink
from xinyong.config import Settings


@dataclass(frozen=True, slots=True)
class OutgoingNotice:
    """A notice on its way to one address."""

    id: int
    to: str
    kind: str
    title: str
    body: str
    reference: str | None


class Transport(Protocol):
    def send(self, notice: OutgoingNotice) -> None:
        """Hand ``notice`` over; return only when it was accepted, raise otherwise."""


class SmtpTransport:
    """Sends each notice as a UTF-8 e-mail through one SMTP transaction."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, notice: OutgoingNotice) -> None:
        settings = self.settings
        message = EmailMessage()
        message["Subject"] = notice.title
        message["From"] = settings.smtp_from
        message["To"] = notice.to
        # Lets the receiving side recognise a resend after a crash between send and mark.
        message["X-Xinyong-Notice"] = str(notice.id)
        message.set_content(notice.body)
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout
        ) as smtp:
            if settings.smtp_starttls:
                # Verified against the CA and the host name: a notice names its subject.
                smtp.starttls(context=ssl.create_default_context(cafile=settings.smtp_ca_file))
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            # Raises unless the server accepted the message for the (single) recipient.
            smtp.send_message(message)


class FileTransport:
    """Appends each notice as one JSON line: the demo's mailbox, readable with any tool."""

    def __init__(self, settings: Settings) -> None:
        self.path = settings.resolved_notice_file()

    def send(self, notice: OutgoingNotice) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = orjson.dumps(
            {
                "id": notice.id,
                "to": notice.to,
                "kind": notice.kind,
                "title": notice.title,
                "body": notice.body,
                "reference": notice.reference,
            }
        )
        with self.path.open("ab") as file:
            file.write(line + b"\n")


TransportFactory = Callable[[Settings], Transport]

_transports: dict[str, TransportFactory] = {"smtp": SmtpTransport, "file": FileTransport}


def register_transport(name: str, factory: TransportFactory) -> None:
    """Make a transport available under ``name`` (``XINYONG_NOTICE_TRANSPORT``)."""
    _transports[name] = factory


def get_transport(settings: Settings, name: str | None = None) -> Transport:
    """The transport ``name`` (default: the configured one) built from ``settings``."""
    chosen = name or settings.notice_transport
    factory = _transports.get(chosen)
    if factory is None:
        known = ", ".join(sorted(_transports))
        raise ValueError(f"no notice transport named {chosen!r} (known: {known})")
    return factory(settings)


def send_reset_link(link: ResetLink) -> None:
    """Send a password reset link through the notice transport, before the ask is answered."""
    minutes = int(LIFETIME.total_seconds() // 60)
    get_transport(link.settings).send(
        OutgoingNotice(
            id=link.reset_id,
            to=link.to,
            kind="password_reset",
            title="重设密码 Reset your password",
            body=(
                f"账户 {link.username} 申请重设密码。请在 {minutes} 分钟内打开以下链接设置新密码，"
                "链接只能使用一次；如非本人操作，请忽略本邮件。\n"
                f"Someone asked to reset the password of the account {link.username}. Open this "
                f"link within {minutes} minutes to choose a new one; it works once. If it was not "
                f"you, ignore this message.\n\n{link.link}\n"
            ),
            reference=None,
        )
    )
