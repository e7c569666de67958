"""Where a pack's files are, and the digest over them, without reading them as a pack.

The digest names the exact rules a decision was made under; computing it needs the bytes of
the pack's files and the digest of the pack it extends, not the pack's models. So a command
that only needs something derived from a pack it has seen before (``xinyong check`` and its
decision table) can tell whether the pack changed in a few milliseconds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

SHIPPED_PACKS = Path(__file__).parent / "packs"
"""Folder of the packs that ship with xinyong, one folder per pack name."""
PACK_FILE = "pack.yaml"
PACK_NAME_PATTERN = r"^[a-z][a-z0-9_-]*$"


def is_pack_name(name: str) -> bool:
    return re.fullmatch(PACK_NAME_PATTERN, name) is not None


def chosen_folder(choice: str) -> Path:
    """The folder of the pack ``XINYONG_PACK`` names: a shipped pack by name, else a path."""
    if is_pack_name(choice) and (SHIPPED_PACKS / choice / PACK_FILE).is_file():
        return SHIPPED_PACKS / choice
    return Path(choice).resolve()


def pack_digest(files: Mapping[str, bytes], extends_digest: str | None = None) -> str:
    """sha256 over the pack's files in path order, then the digest of the pack it extends.

    Each file contributes ``path NUL size NUL bytes`` (path relative to the pack folder,
    with ``/``), so that moving bytes between files changes the digest.
    """
    digest = hashlib.sha256()
    for path in sorted(files):
        content = files[path]
        digest.update(f"{path}\0{len(content)}\0".encode())
        digest.update(content)
    if extends_digest is not None:
        digest.update(f"extends\0{extends_digest}".encode())
    return digest.hexdigest()


def folder_files(folder: Path) -> dict[str, bytes]:
    """Every visible file of ``folder`` and of its visible subfolders, by relative path.

    For a folder that loads as a pack these are exactly its pack files (the loader refuses
    anything else), so their digest is the pack's own."""
    files: dict[str, bytes] = {}
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            for inner in entry.iterdir():
                if not inner.name.startswith("."):
                    files[f"{entry.name}/{inner.name}"] = inner.read_bytes()
        else:
            files[entry.name] = entry.read_bytes()
    return files


def chain_digest(chain: Sequence[Path]) -> str | None:
    """The digest of the last pack of ``chain``, each pack extending the one before it, from
    the files the folders hold now; None if a folder has gone."""
    digest = None
    try:
        for folder in chain:
            digest = pack_digest(folder_files(folder), digest)
    except OSError:
        return None
    return digest
