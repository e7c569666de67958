"""Where the content of a logged event lives when it is not in the ledger itself.

An event whose data has a home elsewhere in the store (a record event, say) is logged by hash
only. At verification time its payload is rebuilt from that home, so an edit made there behind
the application's back no longer matches the logged leaf and is caught.
"""

from collections.abc import Callable, Mapping, Sequence

from sqlalchemy.orm import Session

RebuildPayloads = Callable[[Session, Sequence[str]], Mapping[str, bytes]]
"""Given event refs, the canonical payload of each one still found; missing refs are left out."""

_sources: dict[str, RebuildPayloads] = {}


def register_source(kind_prefix: str, rebuild: RebuildPayloads) -> None:
    """Let ``rebuild`` supply the payloads of kinds under ``kind_prefix`` (``record.``).

    A prefix covers itself and its dotted descendants; the longest registered prefix wins.
    Registering a prefix again replaces its source.
    """
    prefix = kind_prefix.rstrip(".")
    if not prefix:
        raise ValueError("a source needs a non-empty kind prefix")
    _sources[prefix] = rebuild


def source_prefix(kind: str) -> str | None:
    """The registered prefix covering ``kind``, or None when its payload stays in the ledger."""
    candidate = kind
    while candidate not in _sources:
        cut = candidate.rfind(".")
        if cut < 0:
            return None
        candidate = candidate[:cut]
    return candidate


def source(prefix: str) -> RebuildPayloads:
    return _sources[prefix]
