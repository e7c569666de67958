"""Batch evaluation: one plan (Ibis expressions) for entries and scores, run on DuckDB or Spark.

The reference evaluators (``xinyong.enforcement.rules``, ``xinyong.scoring``) are the
specification; this package computes the same entries, scores and contributions for a whole
store at once and publishes them atomically.
"""
