"""Password reset by e-mail through the real application and a real SMTP server on 127.0.0.1:
a single-use link that expires, the same answer for every name, throttled asks."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from tests.rights.test_notices import Mailbox, free_port

from xinyong.accounts.service import LoginRefused, SessionInvalid, create_account, login, signed_in
from xinyong.app import create_app
from xinyong.config import Settings
from xinyong.store.db import make_engine, make_sessionmaker
from xinyong.web import csrf

OLD, NEW = "the old password", "a brand new password"
ADDRESS = "zhang.san@example.test"


@dataclass
class Site:
    client: TestClient
    factory: sessionmaker[Session]
    mailbox: Mailbox


@pytest.fixture
def site(store_url: str, tmp_path: Path) -> Iterator[Site]:
    port = free_port()
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    url = store_url
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory.begin() as session:
        create_account(session, username="zhang", password=OLD, role="operator", email=ADDRESS)
        create_account(session, username="li", password=OLD, role="operator")
    settings = Settings(
        database_url=url,
        var_dir=tmp_path,
        notice_transport="smtp",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_from="noreply@xinyong.test",
        smtp_timeout=5,
    )
    with TestClient(create_app(settings)) as client:
        client.get("/sign-in/reset")  # the CSRF cookie
        client.headers[csrf.HEADER] = client.cookies[csrf.COOKIE]
        yield Site(client, factory, box)
    controller.stop()
    engine.dispose()


def ask(site: Site, username: str) -> int:
    return site.client.post("/sign-in/reset", data={"username": username}).status_code


def link_in(site: Site) -> str:
    body = site.mailbox.messages[-1].get_content()
    found = re.search(r"http://testserver(/sign-in/reset/new\?token=\S+)", body)
    assert found is not None, body
    return found.group(1)


def choose(site: Site, link: str, password: str) -> int:
    page = site.client.get(link)
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token is not None
    answer = site.client.post(
        "/sign-in/reset/new", data={"token": token.group(1), "password": password}
    )
    return answer.status_code


def test_a_reset_link_sets_a_new_password_once_and_ends_the_sessions(site: Site) -> None:
    with site.factory.begin() as session:
        before = login(session, "zhang", OLD)
    assert ask(site, "zhang") == 200
    [message] = site.mailbox.messages
    assert message["To"] == ADDRESS and "zhang" in message.get_content()
    link = link_in(site)
    assert choose(site, link, NEW) == 200
    with site.factory.begin() as session:
        assert login(session, "zhang", NEW)
        with pytest.raises(LoginRefused):
            login(session, "zhang", OLD)
        with pytest.raises(SessionInvalid):
            signed_in(session, before)
    assert choose(site, link, "yet another password") == 422  # single use
    with site.factory.begin() as session:
        assert login(session, "zhang", NEW)


def test_every_name_gets_the_same_answer_and_only_an_address_gets_mail(site: Site) -> None:
    assert ask(site, "li") == 200  # no address
    assert ask(site, "nobody") == 200  # no account
    assert site.mailbox.messages == []


def test_a_link_expires_and_a_short_password_is_refused(site: Site) -> None:
    assert ask(site, "zhang") == 200
    link = link_in(site)
    assert choose(site, link, "short") == 422
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=31)):
        assert choose(site, link, NEW) == 422
    with site.factory.begin() as session:
        assert login(session, "zhang", OLD)


def test_asking_again_and_again_is_throttled(site: Site) -> None:
    answers = [ask(site, "zhang") for _ in range(8)]
    assert answers[:5] == [200] * 5 and 429 in answers[5:]
    assert len(site.mailbox.messages) == 5
