"""Page languages: zh-CN by default, English by a toggle; messages from Babel catalogues.

Message ids are English; ``locale/zh_CN/LC_MESSAGES/messages.po`` holds the Chinese text. The
catalogue is read from the ``.po`` file with Babel and compiled in memory when first needed, so
the repository keeps only the source catalogue and nothing has to be compiled at build time.
"""

from __future__ import annotations

import gettext
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request

LOCALE_DIR = Path(__file__).parent / "locale"
LANG_COOKIE = "lang"


@dataclass(frozen=True)
class Language:
    code: str
    """The value of ``?lang=`` and of the cookie."""
    tag: str
    """BCP 47, for ``<html lang>``."""
    locale: str
    """Babel's locale, for dates and numbers."""
    label: str
    """The language's own name, for the toggle."""


ZH = Language("zh", "zh-CN", "zh_CN", "中文")
EN = Language("en", "en", "en", "English")
LANGUAGES = {language.code: language for language in (ZH, EN)}
DEFAULT = ZH

_current: ContextVar[gettext.NullTranslations | None] = ContextVar("translations", default=None)
_language: ContextVar[Language] = ContextVar("language", default=DEFAULT)


def choose(request: Request) -> Language:
    """``?lang=`` first (a link can force it), then the cookie, then zh-CN."""
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or ""
    return LANGUAGES.get(wanted, DEFAULT)


@cache
def translations(language: Language) -> gettext.NullTranslations:
    po = LOCALE_DIR / language.locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as source:
        catalogue = read_po(source, locale=language.locale)
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled)


def activate(language: Language) -> None:
    """Make ``language`` the one ``gettext`` answers in, for the current request's context."""
    _current.set(translations(language))
    _language.set(language)


def current() -> Language:
    return _language.get()


def _active() -> gettext.NullTranslations:
    return _current.get() or translations(DEFAULT)


def gettext_(message: str) -> str:
    return _active().gettext(message)


def ngettext_(singular: str, plural: str, count: int) -> str:
    return _active().ngettext(singular, plural, count)
