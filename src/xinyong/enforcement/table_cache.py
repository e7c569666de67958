"""The decision table of the pack in force, kept as a file and checked against the pack's digest.

Building a ``Pack`` (YAML, then pydantic models) costs ``xinyong check`` more than everything
else it does; a check needs only the pack's decision table (``DecisionTable``: measures,
effects, legal bases) and its action codes. So the first check builds them from the pack and
writes them as JSON beside the store (``<var_dir>/cache``) with the pack's digest, and later
checks compute the digest from the pack's files (``xinyong.policy.folders``) and use the file
only while it matches: a changed file of the pack, or of a pack it extends, rebuilds it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from xinyong.enforcement.decisions import DecisionTable
from xinyong.policy.folders import chain_digest, chosen_folder

if TYPE_CHECKING:
    from xinyong.policy import Pack

FORMAT = 1
"""The layout of the file; another layout is rebuilt, never read."""


@dataclass(frozen=True, slots=True)
class PackTable:
    """What a check reads of a pack."""

    table: DecisionTable
    actions: frozenset[str]
    """The codes of the pack's actions: any other action is unknown."""


def table_of(pack: Pack) -> PackTable:
    """``pack``'s table, built from the pack (as the measures index builds it)."""
    from xinyong.enforcement.bundles import build_bundles, decision_table

    return PackTable(decision_table(pack, build_bundles(pack)), frozenset(pack.actions))


def cache_file(folder: Path, cache: Path) -> Path:
    """Where the table of the pack in ``folder`` is kept (one file per pack folder)."""
    return cache / f"decisions-{hashlib.sha256(str(folder).encode()).hexdigest()[:16]}.json"


def pack_table(choice: str, cache: Path) -> PackTable:
    """The table of the pack ``choice`` names (``XINYONG_PACK``): from its file in ``cache``
    while the pack's digest is the one it was built under, else built from the pack (and the
    file written again). A pack that does not load raises ``PolicyError``, as loading it does."""
    folder = chosen_folder(choice)
    path = cache_file(folder, cache)
    return _read(path) or _build(folder, path)


def _read(path: Path) -> PackTable | None:
    try:
        data = orjson.loads(path.read_bytes())
        if data["format"] != FORMAT:
            return None
        if chain_digest([Path(folder) for folder in data["chain"]]) != data["digest"]:
            return None
        return PackTable(
            DecisionTable.from_json(data["table"]), frozenset(map(str, data["actions"]))
        )
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None  # no file, or not one this version wrote: built again


def _build(folder: Path, path: Path) -> PackTable:
    from xinyong.policy import load_pack
    from xinyong.policy.loader import pack_chain

    pack = load_pack(folder)
    built = table_of(pack)
    chain = pack_chain(folder)
    # Kept only when the files read now are exactly those the pack was loaded from.
    if chain_digest(chain) != pack.digest:
        return built
    content = orjson.dumps(
        {
            "format": FORMAT,
            "chain": [str(folder) for folder in chain],
            "digest": pack.digest,
            "actions": sorted(built.actions),
            "table": built.table.as_json(),
        }
    )
    written = path.with_name(f"{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        written.write_bytes(content)
        os.replace(written, path)  # whole, for a check that reads it at the same time
    except OSError:
        pass  # a folder the command may not write: it decides without the file
    return built
