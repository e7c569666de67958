"""Joint enforcement: list entries derived from records, the measures index, and checks."""
