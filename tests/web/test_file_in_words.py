"""A subject's own file says what each record holds in words: no coded value of the catalogue,
the grade and amount translated, the platform's schemes named as the platform's."""

import re

import pytest
from fastapi.testclient import TestClient
from tests.web.conftest import sign_in

from xinyong.web import i18n
from xinyong.web.labels import FIELD_VALUES

CODES = {code for values in FIELD_VALUES.values() for code in values if "_" in code}


def _main(html: str) -> str:
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


@pytest.mark.parametrize("username", ["demo-defaulter", "demo-org-rep"])
def test_the_file_shows_record_content_in_words(
    browser: TestClient, passwords: dict[str, str], username: str
) -> None:
    sign_in(browser, username, passwords[username])
    page = _main(browser.get("/me").text)
    shown = set(re.findall(r"[a-z]+(?:_[a-z]+)+", page))
    assert shown & CODES == set()
    i18n.activate(i18n.ZH)
    words = {
        i18n.gettext_(message) for values in FIELD_VALUES.values() for message in values.values()
    }
    assert any(word in page for word in words), "some coded value is shown in words"
    assert "本平台自己的评分方案" in page
