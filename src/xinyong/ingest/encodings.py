"""The text encodings of submission files: UTF-8 by default, GBK and GB18030 when declared.

Government systems export GBK and GB18030 as often as UTF-8, and a file read in the wrong
encoding becomes plausible-looking nonsense. So the encoding is never guessed silently: a file
whose first bytes do not look like its declared (or the default) encoding is refused as a
whole, naming the encoding it most likely has (charset-normalizer's guess). Within a file read
in the right encoding, a row with bytes that do not decode gets :data:`UNDECODABLE` in their
place and is refused by row validation; the rest of the file goes on.
"""

import codecs
import io
from typing import BinaryIO

import charset_normalizer

from xinyong.ingest.values import UNDECODABLE

DEFAULT = "utf-8"
AUTO = "auto"
DECLARABLE = ("utf-8", "gb18030", "gbk", "gb2312")
MAX_CHAOS = 0.1  # charset-normalizer's mess ratio above which its guess is not trusted
SAMPLE_BYTES = 1 << 20  # the first bytes that decide whether a file is in its encoding
_ERRORS = "xinyong-undecodable"


def _undecodable(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return UNDECODABLE, error.end


codecs.register_error(_ERRORS, _undecodable)


class EncodingRefused(ValueError):
    """The declared encoding is unknown, or the file's bytes are plainly in another one
    (``likely``, when charset-normalizer recognises it)."""

    def __init__(self, message: str, likely: str | None = None) -> None:
        super().__init__(message)
        self.likely = likely


def codec_name(declared: str | None) -> str:
    """The codec for an ``--encoding`` value (any alias Python knows, e.g. ``GB18030``, ``cp936``)."""
    if declared is None:
        return DEFAULT
    if declared.lower() == AUTO:
        return AUTO
    try:
        name = codecs.lookup(declared).name
    except LookupError:
        name = ""
    if name not in DECLARABLE:
        raise EncodingRefused(
            f"unknown or unsupported encoding '{declared}': declare one of "
            f"{', '.join(DECLARABLE)}, or {AUTO} to have it detected"
        )
    return name


def detected(sample: bytes) -> str:
    """The encoding of a file whose first bytes are ``sample``, when it can be told with
    confidence: UTF-8 if they decode as UTF-8, else charset-normalizer's guess when it is a
    declarable encoding, the bytes decode in it without error and the text reads as text
    (little mess). GBK and GB2312 are read as GB18030, which holds them both."""
    if _decodes(sample, DEFAULT):
        return DEFAULT
    best = charset_normalizer.from_bytes(sample).best()
    name = codecs.lookup(best.encoding).name if best is not None else None
    if best is None or name not in DECLARABLE or best.chaos > MAX_CHAOS:
        maybe = f" (it may be {name})" if name else ""
        raise EncodingRefused(
            f"its encoding cannot be told with confidence{maybe}: declare it with --encoding",
            name,
        )
    codec = DEFAULT if name == DEFAULT else "gb18030"
    if not _decodes(sample, codec):
        raise EncodingRefused(
            f"it looks like {codec} but does not decode as {codec}: declare its encoding", codec
        )
    return codec


def check_sample(sample: bytes, codec: str) -> None:
    """Refuse a file whose first bytes ``sample`` are not text in ``codec``.

    Read as UTF-8, a file in a legacy encoding fails on most of its non-ASCII characters and
    one with a few damaged rows on few of them: more undecodable sequences than decoded
    non-ASCII characters (or a NUL in every few bytes, as UTF-16 has) is the wrong encoding.
    Read as a legacy encoding, a sample that decodes as UTF-8 with non-ASCII text in it is
    UTF-8 declared wrongly (GB18030 would decode it into other characters, without error).
    """
    if codec == DEFAULT:
        text = codecs.getincrementaldecoder(DEFAULT)(_ERRORS).decode(sample, final=False)
        undecodable = text.count(UNDECODABLE)
        non_ascii = len(text) - len(text.encode("ascii", "ignore")) - undecodable
        if (undecodable and undecodable >= non_ascii) or sample.count(0) * 8 > len(sample):
            guess = likely_encoding(sample)
            advice = (
                f"; it looks like {guess}: declare it with --encoding {guess} (or auto)"
                if guess
                else ""
            )
            raise EncodingRefused(f"not UTF-8 text{advice}", guess)
        return
    if not sample.isascii() and _decodes(sample, DEFAULT):
        raise EncodingRefused(
            f"declared {codec} but it is UTF-8 text: leave out --encoding to read it as UTF-8"
        )


def likely_encoding(sample: bytes) -> str | None:
    """charset-normalizer's best guess at the encoding of ``sample``, as Python names it."""
    best = charset_normalizer.from_bytes(sample).best()
    if best is None:
        return None
    return codecs.lookup(best.encoding).name


def _decodes(sample: bytes, codec: str) -> bool:
    try:
        codecs.getincrementaldecoder(codec)().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def open_text(binary: BinaryIO, codec: str, *, newline: str | None) -> io.TextIOWrapper:
    """``binary`` as text in ``codec``: undecodable bytes read as ``UNDECODABLE``, no BOM."""
    text = io.TextIOWrapper(
        binary,
        encoding="utf-8-sig" if codec == DEFAULT else codec,
        errors=_ERRORS,
        newline=newline,
    )
    if codec != DEFAULT and text.read(1) != "\ufeff":
        text.seek(0)
    return text


class Utf8Bytes:
    """A text stream read as UTF-8 bytes, for parsers that take bytes (ijson)."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self.text = text

    def read(self, size: int = -1) -> bytes:
        return self.text.read(size).encode(DEFAULT)
