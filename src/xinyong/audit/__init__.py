"""The access log: every read of a subject's non-public data, append-only, for the subject and auditors."""
