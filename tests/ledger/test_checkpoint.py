"""Checkpoints and keys in the C2SP signed-note and tlog-checkpoint formats."""

import base64
import stat
from pathlib import Path

import pytest

from xinyong.ledger.checkpoint import (
    CheckpointError,
    SigningKey,
    TreeHead,
    VerifierKey,
    open_checkpoint,
    open_note,
    read_signing_key,
    read_verifier_key,
    sign_checkpoint,
    sign_note,
    write_signing_key,
)
from xinyong.ledger.merkle import EMPTY_ROOT

# The example of the signed-note reference implementation (golang.org/x/mod/sumdb/note):
# Ed25519 signatures are deterministic, so the same key and text must give these exact bytes.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    f"{GO_TEXT}\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

ROOT = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")


def test_the_reference_signed_note_byte_for_byte() -> None:
    key = SigningKey.parse(GO_SKEY)
    assert key.encode() == GO_SKEY
    assert key.verifier.encode() == GO_VKEY
    assert VerifierKey.parse(GO_VKEY) == key.verifier
    assert sign_note(GO_TEXT, key) == GO_NOTE
    assert open_note(GO_NOTE, VerifierKey.parse(GO_VKEY)) == GO_TEXT


def test_a_checkpoint_round_trip() -> None:
    key = SigningKey.generate("credit.example.gov.cn/ledger")
    signed = sign_checkpoint(TreeHead(8, ROOT), key)
    body = f"credit.example.gov.cn/ledger\n8\n{base64.b64encode(ROOT).decode()}\n\n"
    assert signed.note.startswith(body + "\u2014 credit.example.gov.cn/ledger ")
    opened = open_checkpoint(signed.note, key.verifier)
    assert (opened.origin, opened.tree_size, opened.root_hash) == (key.name, 8, ROOT)
    empty = open_checkpoint(sign_checkpoint(TreeHead(0, EMPTY_ROOT), key).note, key.verifier)
    assert (empty.tree_size, empty.root_hash) == (0, EMPTY_ROOT)


def test_a_checkpoint_with_another_log_s_signature_too() -> None:
    key, witness = SigningKey.generate("log.example/a"), SigningKey.generate("witness.example")
    note = sign_checkpoint(TreeHead(3, ROOT), key).note
    text = note[: note.index("\n\n") + 1]
    cosigned = note + sign_note(text, witness).removeprefix(text + "\n")
    assert open_checkpoint(cosigned, key.verifier).tree_size == 3
    assert open_note(cosigned, witness.verifier) == text


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda note: note.replace("\n8\n", "\n9\n", 1), "does not verify"),
        (lambda note: note.replace("/a\n8", "/b\n8", 1), "does not verify"),
        (lambda note: note + "a postscript\n", "not a signature line"),
        (lambda note: note.split("\n\n")[0] + "\n", "no blank line"),
        (lambda note: note.replace("\n\n", "\n\n\x07", 1), "control characters"),
        (lambda note: note[:-10] + "AAAAAAAAA\n", "does not verify|base64"),
    ],
)
def test_altered_checkpoints_are_refused(change: object, reason: str) -> None:
    key = SigningKey.generate("log.example/a")
    note = sign_checkpoint(TreeHead(8, ROOT), key).note
    with pytest.raises(CheckpointError, match=reason):
        open_checkpoint(change(note), key.verifier)  # type: ignore[operator]


def test_a_checkpoint_signed_by_someone_else_is_refused() -> None:
    ours, theirs = SigningKey.generate("log.example/a"), SigningKey.generate("log.example/a")
    forged = sign_checkpoint(TreeHead(8, ROOT), theirs).note
    with pytest.raises(CheckpointError, match="no signature by the key"):
        open_checkpoint(forged, ours.verifier)
    stolen_name = SigningKey.generate("log.example/b")
    with pytest.raises(CheckpointError, match="origin"):
        open_checkpoint(
            sign_note(f"log.example/a\n8\n{base64.b64encode(ROOT).decode()}\n", stolen_name),
            stolen_name.verifier,
        )


def test_malformed_checkpoint_bodies_are_refused() -> None:
    key = SigningKey.generate("log.example/a")
    for body, reason in [
        ("log.example/a\n8\n", "three non-empty lines"),
        ("log.example/a\n08\n" + base64.b64encode(ROOT).decode() + "\n", "decimal"),
        ("log.example/a\n8\n" + base64.b64encode(ROOT[:31]).decode() + "\n", "31 bytes"),
        ("log.example/a\n8\nnot base64!\n", "base64"),
    ]:
        with pytest.raises(CheckpointError, match=reason):
            open_checkpoint(sign_note(body, key), key.verifier)


def test_key_names_and_key_texts_are_checked() -> None:
    for name in ["", "has space", "has+plus"]:
        with pytest.raises(CheckpointError):
            SigningKey.generate(name)
    wrong_id = GO_VKEY.replace("c74f20a3", "c74f20a4")
    with pytest.raises(CheckpointError, match="key id"):
        VerifierKey.parse(wrong_id)
    with pytest.raises(CheckpointError, match="PRIVATE"):
        SigningKey.parse(GO_VKEY)
    with pytest.raises(CheckpointError, match="Ed25519"):
        VerifierKey.parse("PeterNeumann+c74f20a3+" + base64.b64encode(b"\x02" + b"k" * 32).decode())


def test_the_signing_key_file_is_private(tmp_path: Path) -> None:
    key = SigningKey.generate("log.example/a")
    path = tmp_path / "ledger" / "signing.key"
    write_signing_key(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_signing_key(path).verifier == key.verifier
    public = tmp_path / "ledger.vkey"
    public.write_text(key.verifier.encode() + "\n")
    assert read_verifier_key(str(public)) == key.verifier
    assert read_verifier_key(key.verifier.encode()) == key.verifier
    with pytest.raises(CheckpointError, match="cannot read"):
        read_verifier_key(str(tmp_path / "missing.vkey"))
