"""Reproducible synthetic cities: people, organisations and the records authorities submit.

``generate`` writes one submission file per authority and a manifest; ``iter_records``
streams the same rows. Everything is derived from the seed and each subject's index, so any
size of city is generated in flat memory and the same arguments give the same bytes.
"""

from xinyong.synth.city import (
    DEFAULT_AS_OF,
    DEFAULT_FORMAT,
    DEFAULT_ORGANISATIONS,
    DEFAULT_PERSONS,
    DEFAULT_SEED,
    MANIFEST,
    OUTCOMES,
    FileStats,
    SynthSummary,
    generate,
    iter_records,
)
from xinyong.synth.defects import DEFECT_KINDS
from xinyong.synth.writers import COLUMNS, FORMATS

__all__ = [
    "COLUMNS",
    "DEFAULT_AS_OF",
    "DEFAULT_FORMAT",
    "DEFAULT_ORGANISATIONS",
    "DEFAULT_PERSONS",
    "DEFAULT_SEED",
    "DEFECT_KINDS",
    "FORMATS",
    "MANIFEST",
    "OUTCOMES",
    "FileStats",
    "SynthSummary",
    "generate",
    "iter_records",
]
