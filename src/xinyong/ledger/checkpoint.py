"""Signed checkpoints: a tree head as a C2SP ``tlog-checkpoint``, signed as a C2SP ``signed-note``.

Using the transparency-log formats as published means anyone can check our checkpoints with
tools that do not come from us. A checkpoint note reads::

    credit.example.gov.cn/ledger
    6
    3mZhEczBeMuTbA89vPIQewBpL3fO8BW840G8GjCKiPI=

    — credit.example.gov.cn/ledger keuIzHQyDIQBEWOGmPNS28eVD24UIqlhymke...

Keys are written in the note ecosystem's text forms: the signing key as
``PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>`` and the verifier key (what we publish) as
``<name>+<key id>+<base64(0x01 || public key)>``. The key name is the log's origin.
"""

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from xinyong.ledger.merkle import HASH_SIZE

ED25519 = b"\x01"
SIGNATURE_LINE = "\u2014 "
PRIVATE_KEY_TAG = "PRIVATE+KEY+"
# "/2": the log of salted commitments. The first log (events hashed in the clear) was
# "xinyong.local/ledger"; a new name keeps the two from ever being taken for one forked log.
DEFAULT_ORIGIN = "xinyong.local/ledger/2"

# Key names: non-empty, no Unicode space, no "+" (signed-note §Format).
_NAME = re.compile(r"[^\s+]+")
_SIZE = re.compile(r"0|[1-9][0-9]*")


class CheckpointError(ValueError):
    """A key or checkpoint that is malformed, or a signature that does not verify."""


def decode_base64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise CheckpointError(f"{what} is not valid base64") from None


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise CheckpointError(f"a key name must be non-empty, without spaces or '+': {name!r}")


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, public_key: bytes) -> bytes:
    """SHA-256(name || LF || 0x01 || public key)[:4], as signed-note recommends for Ed25519."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public_key).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A log's public key and name: all a relying party needs to check checkpoints."""

    name: str
    public_key: bytes

    def __post_init__(self) -> None:
        _check_name(self.name)
        if len(self.public_key) != 32:
            raise CheckpointError("an Ed25519 public key is 32 bytes")

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.public_key)

    def encode(self) -> str:
        encoded = base64.b64encode(ED25519 + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> "VerifierKey":
        name, _, rest = text.strip().partition("+")
        hex_id, _, encoded = rest.partition("+")
        raw = decode_base64(encoded, "the verifier key")
        if raw[:1] != ED25519:
            raise CheckpointError("only Ed25519 verifier keys (type 0x01) are supported")
        key = cls(name, raw[1:])
        if hex_id != key.key_id.hex():
            raise CheckpointError(f"the key id {hex_id!r} does not match the key")
        return key

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, eq=False)
class SigningKey:
    """The log's private key, named by the log's origin."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        _check_name(self.name)

    @classmethod
    def generate(cls, name: str = DEFAULT_ORIGIN) -> "SigningKey":
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def verifier(self) -> VerifierKey:
        return VerifierKey(self.name, _raw_public(self.private_key.public_key()))

    def encode(self) -> str:
        seed = self.private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        encoded = base64.b64encode(ED25519 + seed).decode()
        return f"{PRIVATE_KEY_TAG}{self.name}+{self.verifier.key_id.hex()}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> "SigningKey":
        text = text.strip()
        if not text.startswith(PRIVATE_KEY_TAG):
            raise CheckpointError(f"a signing key starts with {PRIVATE_KEY_TAG!r}")
        name, _, rest = text.removeprefix(PRIVATE_KEY_TAG).partition("+")
        hex_id, _, encoded = rest.partition("+")
        raw = decode_base64(encoded, "the signing key")
        if raw[:1] != ED25519 or len(raw) != 33:
            raise CheckpointError(
                "only Ed25519 signing keys (type 0x01, 32-byte seed) are supported"
            )
        key = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if hex_id != key.verifier.key_id.hex():
            raise CheckpointError(f"the key id {hex_id!r} does not match the key")
        return key

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


def write_signing_key(path: Path, key: SigningKey) -> None:
    """Write ``key`` readable by its owner only (the file is replaced if it exists)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key.encode() + "\n")
    path.chmod(0o600)


def key_file_text(path: Path) -> str:
    """The text of a key file; bytes that are not UTF-8 are a ``CheckpointError`` (no key is
    written so), like any other malformed key, never a decoding traceback."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CheckpointError(f"{path.name} is not a key file: it is not UTF-8 text") from None


def read_signing_key(path: Path) -> SigningKey:
    return SigningKey.parse(key_file_text(path))


def signing_verifier(path: Path) -> VerifierKey | None:
    """The verifier key of the signing key at ``path``, or None when it is missing or unreadable
    (then no checkpoint can be signed, and there is nothing to prove against)."""
    try:
        return read_signing_key(path).verifier
    except (OSError, CheckpointError):
        return None


@dataclass(frozen=True)
class RetiredKey:
    """A key that signed the ledger's checkpoints before the current one replaced it: it
    vouches only for checkpoints of at most ``last_size`` events, the size the ledger had when
    it was retired (a key retired because it leaked must not vouch for what came after)."""

    key: VerifierKey
    last_size: int

    def encode(self) -> str:
        return f"{self.last_size} {self.key.encode()}"

    @classmethod
    def parse(cls, line: str) -> "RetiredKey":
        size, _, key = line.strip().partition(" ")
        # A size past a ledger position (a 64-bit integer) is no ledger's; checked on the digits,
        # since Python refuses to read more than 4,300 of them with an error of its own.
        if not (size.isdigit() and size.isascii() and len(size) <= 19 and int(size) < 2**63):
            raise CheckpointError(f"not a retired key: {line.strip()[:60]!r} (expected SIZE KEY)")
        return cls(VerifierKey.parse(key), int(size))


def retired_keys_path(key_path: Path) -> Path:
    """Where the keys the signing key at ``key_path`` replaced are listed, beside it."""
    return key_path.with_name("retired.keys")


def read_retired_list(path: Path) -> list[RetiredKey]:
    """The retired keys the file at ``path`` lists, a line ``SIZE KEY`` each (blank lines aside)."""
    return [RetiredKey.parse(line) for line in key_file_text(path).splitlines() if line.strip()]


def read_retired_keys(key_path: Path) -> list[RetiredKey]:
    """The keys retired beside the signing key at ``key_path``, oldest first (none: [])."""
    try:
        return read_retired_list(retired_keys_path(key_path))
    except FileNotFoundError:
        return []


def retire_key(key_path: Path, retired: RetiredKey) -> None:
    """Add ``retired`` to the keys retired beside the signing key at ``key_path``."""
    path = retired_keys_path(key_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(retired.encode() + "\n")


def read_verifier_text(text_or_path: str) -> str:
    """A key's text given inline, or read from the file that holds it."""
    candidate = Path(text_or_path)
    if "+" not in text_or_path or candidate.is_file():
        try:
            return key_file_text(candidate)
        except OSError as error:
            raise CheckpointError(
                f"cannot read a verifier key from {text_or_path!r}: {error}"
            ) from None
    return text_or_path


def read_verifier_key(text_or_path: str) -> VerifierKey:
    """A verifier key given inline, or in a file holding one."""
    return VerifierKey.parse(read_verifier_text(text_or_path))


@dataclass(frozen=True)
class TreeHead:
    size: int
    root_hash: bytes


@dataclass(frozen=True)
class Checkpoint:
    """A tree head as signed by the log: ``note`` is the text exactly as published, with the
    cosignatures of the witnesses whose keys ``witnesses`` holds (ledger.cosignature)."""

    origin: str
    tree_size: int
    root_hash: bytes
    note: str
    witnesses: tuple[str, ...] = ()


def checkpoint_text(origin: str, head: TreeHead) -> str:
    return f"{origin}\n{head.size}\n{base64.b64encode(head.root_hash).decode()}\n"


def sign_note(text: str, key: SigningKey) -> str:
    """``text`` (ending in a newline) as a signed note with one signature by ``key``."""
    signature = base64.b64encode(key.verifier.key_id + key.sign(text.encode())).decode()
    return f"{text}\n{SIGNATURE_LINE}{key.name} {signature}\n"


def open_note(note: str, key: VerifierKey) -> str:
    """The text of ``note``, once its signature by ``key`` has been verified.

    Follows signed-note: signatures by other keys are ignored, a failing signature by ``key``
    rejects the note, and a note with no signature by ``key`` is rejected.
    """
    if any(ord(char) < 0x20 and char != "\n" for char in note):
        raise CheckpointError("a signed note may not contain control characters")
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise CheckpointError("not a signed note: no blank line before the signatures")
    text, signatures = note[: cut + 1], note[cut + 2 :]
    verified = False
    for line in signatures.splitlines():
        if not line.startswith(SIGNATURE_LINE):
            raise CheckpointError(f"not a signature line: {line!r}")
        name, _, encoded = line.removeprefix(SIGNATURE_LINE).partition(" ")
        blob = decode_base64(encoded, "a signature")
        if name != key.name or blob[:4] != key.key_id:
            continue
        if not key.verify(text.encode(), blob[4:]):
            raise CheckpointError(
                f"the signature by {key.name} does not verify: the note was altered"
            )
        verified = True
    if not verified:
        raise CheckpointError(f"the note carries no signature by the key {key.encode()}")
    return text


def signed_by(note: str, key: VerifierKey) -> bool:
    """Whether ``note`` carries a signature by ``key`` that holds."""
    try:
        open_note(note, key)
    except CheckpointError:
        return False
    return True


def sign_checkpoint(head: TreeHead, key: SigningKey) -> Checkpoint:
    note = sign_note(checkpoint_text(key.name, head), key)
    return Checkpoint(key.name, head.size, head.root_hash, note)


def open_checkpoint(note: str, key: VerifierKey) -> Checkpoint:
    """The checkpoint in ``note``, once its signature by ``key`` has been verified."""
    lines = open_note(note, key).split("\n")[:-1]
    if len(lines) < 3 or not all(lines):
        raise CheckpointError("a checkpoint has at least three non-empty lines: origin, size, root")
    origin, size, root = lines[:3]
    if origin != key.name:
        raise CheckpointError(
            f"the checkpoint's origin {origin!r} is not the key's name {key.name!r}"
        )
    if not _SIZE.fullmatch(size):
        raise CheckpointError(f"the tree size {size!r} is not a decimal number")
    root_hash = decode_base64(root, "the root hash")
    if len(root_hash) != HASH_SIZE:
        raise CheckpointError(f"the root hash is {len(root_hash)} bytes, not {HASH_SIZE}")
    return Checkpoint(origin, int(size), root_hash, note)
