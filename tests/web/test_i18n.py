"""The Chinese catalogue covers every message of every page."""

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from xinyong.web import i18n

# Every feature keeps its pages and their templates in its own folder: extract from them all.
PACKAGE = i18n.LOCALE_DIR.parent.parent
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def _extracted() -> set[str]:
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found: set[str] = set()
    for _, _, message, _, _ in extract_from_dir(
        str(PACKAGE), METHODS, options_map=OPTIONS, keywords=keywords
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_has_a_chinese_translation() -> None:
    with (i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalogue = read_po(source, locale="zh_CN")
    translated = {
        message.id[0] if isinstance(message.id, tuple) else message.id: message.string
        for message in catalogue
        if message.id
    }
    extracted = _extracted()
    assert sorted(extracted - set(translated)) == []
    assert [message for message in extracted if not translated[message]] == []


def test_messages_follow_the_active_language() -> None:
    i18n.activate(i18n.ZH)
    assert i18n.gettext_("Published defaulters") == "失信主体公示"
    assert i18n.ngettext_("%(num)d result", "%(num)d results", 3) == "共 %(num)d 条结果"
    i18n.activate(i18n.EN)
    assert i18n.gettext_("Published defaulters") == "Published defaulters"
    assert i18n.ngettext_("%(num)d result", "%(num)d results", 1) == "%(num)d result"
