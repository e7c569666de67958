"""Which packs' schemes are evaluated, and the schemes they hold."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from xinyong.policy import Pack, load_pack, load_shipped, shipped_pack_names
from xinyong.policy.schemes import PointsScheme, ScorecardScheme, TiersScheme
from xinyong.scoring.scorecard import forget_trained, trained

SchemeModel = PointsScheme | TiersScheme | ScorecardScheme

DEFAULT_PACKS = ("national", "city-pilot", "enterprise", "financial")
"""The national pack and the shipped scheme packs, those of them that ship with this version."""


def default_packs() -> list[Pack]:
    """The default packs that can be scored now (see ``resolve_packs``)."""
    return resolve_packs([])[0]


@cache
def served_packs() -> tuple[Pack, ...]:
    """The default packs as a running server scores with them, loaded once per process:
    loading takes about a second, and a request must not reload trained artefacts."""
    return tuple(default_packs())


def unscorable(pack: Pack) -> str | None:
    """Why the schemes of ``pack`` cannot be scored yet (a scorecard not trained), or None."""
    for scheme in pack.schemes.values():
        if isinstance(scheme, ScorecardScheme):
            try:
                trained(scheme.artefact)
            except (LookupError, OSError) as error:
                return f"{pack.name}: {scheme.code} cannot be scored: {error}"
    return None


def resolve_packs(names: Sequence[str]) -> tuple[list[Pack], list[str]]:
    """Packs by shipped name or folder path, and why any default pack was left out.

    Without ``names``: the default packs, less those whose scorecard is not trained yet (each
    named in the notes). A pack named explicitly that cannot be scored is a ``LookupError``.
    """
    # A new run looks trained artefacts up again: ``latest`` may name a newer one by now.
    forget_trained()
    if not names:
        shipped = set(shipped_pack_names())
        packs, skipped = [], []
        for pack in (load_shipped(name) for name in DEFAULT_PACKS if name in shipped):
            reason = unscorable(pack)
            if reason is None:
                packs.append(pack)
            else:
                skipped.append(reason)
        return packs, skipped
    shipped = set(shipped_pack_names())
    packs = [load_shipped(name) if name in shipped else load_pack(Path(name)) for name in names]
    for pack in packs:
        reason = unscorable(pack)
        if reason is not None:
            raise LookupError(reason)
    return packs, []


@dataclass(frozen=True)
class EvaluatedScheme:
    """A scheme and the pack it is read from (its records are read by that pack's catalogue)."""

    pack: Pack
    scheme: SchemeModel

    @property
    def version(self) -> str:
        return self.pack.policy_version


def evaluated_schemes(packs: Sequence[Pack]) -> list[EvaluatedScheme]:
    """Every scheme of ``packs`` once, by code; a later pack's scheme replaces an earlier one's."""
    found: dict[str, EvaluatedScheme] = {}
    for pack in packs:
        for code, scheme in pack.schemes.items():
            found[code] = EvaluatedScheme(pack, scheme)
    return [found[code] for code in sorted(found)]


def find_scheme(packs: Sequence[Pack], code: str) -> EvaluatedScheme:
    """The scheme ``code`` among ``packs``; ``LookupError`` naming those there are."""
    for evaluated in evaluated_schemes(packs):
        if evaluated.scheme.code == code:
            return evaluated
    known = ", ".join(item.scheme.code for item in evaluated_schemes(packs)) or "none"
    raise LookupError(f"no scheme {code!r}; schemes: {known}")


def policies_of(packs: Sequence[Pack]) -> tuple[str, str]:
    """The packs' ``policy_version`` list (name order) and its sha256, as an evaluation names them."""
    versions = ",".join(sorted(pack.policy_version for pack in packs))
    return versions, hashlib.sha256(versions.encode()).hexdigest()
