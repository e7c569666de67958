"""Batches: what one node sends a neighbour, numbered, chained and signed.

A batch is a JSON object with two members: ``note``, a signed note (C2SP signed-note, by the
sender's ledger key) of the batch's header, and ``items``, the record events as JSON Lines::

    xinyong.batch/v1
    from city-a
    to province
    number 17
    previous 6d1f...e0            (SHA-256 of batch 16's note text; 64 zeros for the first)
    items 250 9a3c...41           (how many items, and the SHA-256 of the items text)
    policy 2f4b...                (the digest of the policy pack the sender runs)

    — city-a.example/ledger base64(key id || Ed25519 signature)

The receiver verifies the signature with the key its settings give for the sender, that the
items are the ones signed, and that the number and the chain follow the last batch it applied.
A batch is identified by the digest of its note text. Nothing in a batch depends on when it
was made: built again from the same events, it is the same batch.
"""

import hashlib
import re
from dataclasses import dataclass

import orjson

from xinyong.ledger.checkpoint import CheckpointError, SigningKey, VerifierKey, open_note, sign_note

HEADER = "xinyong.batch/v1"
FIRST = "0" * 64
_DIGEST = r"[0-9a-f]{64}"
_NUMBER = r"[1-9][0-9]{0,17}"
_NAME = r"[a-z0-9][a-z0-9._-]{0,63}"
_TEXT = re.compile(
    rf"{re.escape(HEADER)}\n"
    rf"from (?P<sender>{_NAME})\n"
    rf"to (?P<receiver>{_NAME})\n"
    rf"number (?P<number>{_NUMBER})\n"
    rf"previous (?P<previous>{_DIGEST})\n"
    rf"items (?P<count>0|{_NUMBER}) (?P<items>{_DIGEST})\n"
    rf"policy (?P<policy>{_DIGEST})\n"
)


class MalformedBatch(ValueError):
    """A body that is not a batch, or whose signature or items do not hold."""

    def __init__(self, detail: str, *, forged: bool = False) -> None:
        super().__init__(detail)
        self.forged = forged


@dataclass(frozen=True)
class Header:
    sender: str
    receiver: str
    number: int
    previous: str
    count: int
    items_digest: str
    policy: str

    def text(self) -> str:
        return (
            f"{HEADER}\nfrom {self.sender}\nto {self.receiver}\nnumber {self.number}\n"
            f"previous {self.previous}\nitems {self.count} {self.items_digest}\n"
            f"policy {self.policy}\n"
        )

    @property
    def digest(self) -> str:
        """What identifies the batch: the SHA-256 of its note text."""
        return hashlib.sha256(self.text().encode()).hexdigest()


@dataclass(frozen=True)
class Batch:
    header: Header
    note: str
    items: bytes

    def body(self) -> bytes:
        return orjson.dumps({"note": self.note, "items": self.items.decode()})


def items_text(items: list[dict[str, object]]) -> bytes:
    """Items as JSON Lines, keys sorted: the same events always make the same bytes."""
    return b"".join(orjson.dumps(item, option=orjson.OPT_SORT_KEYS) + b"\n" for item in items)


def seal(
    key: SigningKey,
    *,
    sender: str,
    receiver: str,
    number: int,
    previous: str,
    policy: str,
    items: list[dict[str, object]],
) -> Batch:
    """Sign a batch of ``items`` from ``sender`` to ``receiver``."""
    text = items_text(items)
    header = Header(
        sender,
        receiver,
        number,
        previous,
        len(items),
        hashlib.sha256(text).hexdigest(),
        policy,
    )
    return Batch(header, sign_note(header.text(), key), text)


def parse_header(text: str) -> Header:
    found = _TEXT.fullmatch(text)
    if found is None:
        raise MalformedBatch(f"the note is not a {HEADER} header")
    return Header(
        found["sender"],
        found["receiver"],
        int(found["number"]),
        found["previous"],
        int(found["count"]),
        found["items"],
        found["policy"],
    )


def sender_of(body: bytes) -> str:
    """Who a batch says it is from (before anything is verified)."""
    note, _ = _members(body)
    found = re.search(rf"^from ({_NAME})$", note, re.MULTILINE)
    if found is None:
        raise MalformedBatch("the note names no sender")
    return found[1]


def _members(body: bytes) -> tuple[str, str]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise MalformedBatch(f"the body is not JSON: {error}") from None
    if (
        not isinstance(document, dict)
        or set(document) != {"note", "items"}
        or not all(isinstance(value, str) for value in document.values())
    ):
        raise MalformedBatch('a batch is {"note": <signed note>, "items": <JSON Lines>}')
    return document["note"], document["items"]


def open_batch(body: bytes, key: VerifierKey) -> Batch:
    """The batch in ``body`` once its signature by ``key`` and its items digest hold."""
    note, items = _members(body)
    try:
        text = open_note(note, key)
    except CheckpointError as error:
        raise MalformedBatch(f"the signature does not hold: {error}", forged=True) from None
    header = parse_header(text)
    encoded = items.encode()
    if hashlib.sha256(encoded).hexdigest() != header.items_digest:
        raise MalformedBatch("the items are not the ones the note signs", forged=True)
    if encoded.count(b"\n") != header.count or (encoded and not encoded.endswith(b"\n")):
        raise MalformedBatch(f"the note signs {header.count} items, one a line")
    return Batch(header, note, encoded)
