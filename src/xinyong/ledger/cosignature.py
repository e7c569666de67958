"""Cosignatures: a witness's statement that it checked a checkpoint (C2SP tlog-cosignature v1).

A cosignature is one more signature line on the checkpoint's signed note::

    — province.example/ledger base64(key id || 8-byte timestamp || Ed25519 signature)

made over ``cosignature/v1`` LF ``time <POSIX seconds>`` LF followed by the checkpoint's text.
It says: as of that time, the largest tree of this log the witness has seen consistent with
everything it cosigned before has this root. The key id of an Ed25519 cosigner is
SHA-256(name LF 0x04 public key)[:4], which keeps it apart from the same key's checkpoint
signatures (type 0x01); the fixed first line keeps the two messages apart.

A node cosigns with its ledger key, under its ledger's name: its neighbours know that key
already, from the checkpoints it signs.
"""

import base64
import hashlib
from dataclasses import dataclass

from xinyong.ledger.checkpoint import (
    SIGNATURE_LINE,
    CheckpointError,
    SigningKey,
    VerifierKey,
    decode_base64,
)

COSIGNATURE_V1 = b"\x04"
HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1


def cosigner_key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + COSIGNATURE_V1 + public_key).digest()[:4]


@dataclass(frozen=True)
class CosignerKey:
    """A witness's public key and name, as log clients are configured with them."""

    name: str
    public_key: bytes

    @classmethod
    def of(cls, key: VerifierKey) -> "CosignerKey":
        """The cosigner a ledger's verifier key stands for: same name, same key."""
        return cls(key.name, key.public_key)

    @property
    def key_id(self) -> bytes:
        return cosigner_key_id(self.name, self.public_key)

    def encode(self) -> str:
        """The verifier-key text form, with signature type 0x04."""
        encoded = base64.b64encode(COSIGNATURE_V1 + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> "CosignerKey":
        """A cosigner key in its own form (type 0x04), or a ledger's verifier key (type 0x01)."""
        name, _, rest = text.strip().partition("+")
        hex_id, _, encoded = rest.partition("+")
        raw = decode_base64(encoded, "the witness key")
        if raw[:1] == COSIGNATURE_V1 and len(raw) == 33:
            key = cls(name, raw[1:])
            if hex_id != key.key_id.hex():
                raise CheckpointError(f"the key id {hex_id!r} does not match the witness key")
            return key
        return cls.of(VerifierKey.parse(text))


@dataclass(frozen=True)
class Cosignature:
    """A cosignature that verified: who, when (POSIX seconds), and its signature line."""

    witness: str
    timestamp: int
    line: str


def _message(text: str, timestamp: int) -> bytes:
    return f"{HEADER}time {timestamp}\n{text}".encode()


def cosign(text: str, key: SigningKey, timestamp: int) -> str:
    """The cosignature line (ending in a newline) of ``key`` on a checkpoint's ``text``."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CheckpointError(f"a cosignature's time is a POSIX timestamp, not {timestamp}")
    cosigner = CosignerKey.of(key.verifier)
    signature = key.sign(_message(text, timestamp))
    blob = cosigner.key_id + timestamp.to_bytes(8, "big") + signature
    return f"{SIGNATURE_LINE}{key.name} {base64.b64encode(blob).decode()}\n"


def note_text(note: str) -> str:
    """The text a note's signatures sign: everything before the blank line."""
    cut = note.rfind("\n\n")
    if cut < 0:
        raise CheckpointError("not a signed note: no blank line before the signatures")
    return note[: cut + 1]


def signature_lines(note: str) -> list[str]:
    return [line + "\n" for line in note[note.rfind("\n\n") + 2 :].splitlines()]


def verify_cosignature(line: str, text: str, witness: CosignerKey) -> Cosignature | None:
    """The cosignature in ``line`` if it is ``witness``'s; None if the line is someone else's.
    A line by the witness's name and key id that does not verify raises CheckpointError."""
    if not line.startswith(SIGNATURE_LINE):
        raise CheckpointError(f"not a signature line: {line!r}")
    name, _, encoded = line.removeprefix(SIGNATURE_LINE).strip().partition(" ")
    blob = decode_base64(encoded, "a signature")
    if name != witness.name or blob[:4] != witness.key_id:
        return None
    if len(blob) != 4 + 8 + 64:
        raise CheckpointError(f"the cosignature by {name} is not 76 bytes long")
    timestamp = int.from_bytes(blob[4:12], "big")
    if timestamp > MAX_TIMESTAMP or not VerifierKey(name, witness.public_key).verify(
        _message(text, timestamp), blob[12:]
    ):
        raise CheckpointError(f"the cosignature by {name} does not verify: the note was altered")
    return Cosignature(name, timestamp, line if line.endswith("\n") else line + "\n")


def cosignatures(note: str, witnesses: list[CosignerKey]) -> list[Cosignature]:
    """The cosignatures on ``note`` by ``witnesses`` (one each at most, the first that holds);
    a line by one of them that does not verify raises CheckpointError."""
    text = note_text(note)
    found: dict[str, Cosignature] = {}
    for line in signature_lines(note):
        for witness in witnesses:
            checked = verify_cosignature(line, text, witness)
            if checked is not None:
                found.setdefault(witness.encode(), checked)
    return list(found.values())
