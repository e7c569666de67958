"""Records: subjects, the records authorities publish on them, their events and heads,
representatives, policy publication, and the record history that goes on the ledger."""
