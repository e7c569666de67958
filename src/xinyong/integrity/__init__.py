"""Integrity of derived state: everything the service derives from the logged records and serves
(record heads, subjects, legal representatives, entries, the measures index, the search index),
recomputed and compared with what the store holds. ``xinyong ledger verify`` runs it after the
ledger itself."""

from xinyong.integrity.report import DerivedReport, Difference
from xinyong.integrity.verify import verify_derived

__all__ = ["DerivedReport", "Difference", "verify_derived"]
