"""The patterns text fields are held to, apart from the request types that use them, so that
code outside the server (a relying party's mirror) checks text the same way without
importing pydantic."""

# C0 and C1 controls, and the bidirectional marks, overrides and isolates that make text read
# differently from what it says (in a log a subject reads, in an export).
LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]*$"
DIGITS_PATTERN = r"^[0-9]+$"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
