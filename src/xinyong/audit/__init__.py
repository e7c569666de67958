"""The access log: every read of a subject's non-public data, append-only, for the subject and auditors."""

# With the package, so any process that sees the access log can also verify its ledger leaves.
import xinyong.audit.history  # noqa: F401
