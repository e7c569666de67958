"""Subjects' rights: objections, repairs, expiry, notices."""
