"""Where a form may send the browser next."""


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: a sign-in form must not send anyone elsewhere.

    Browsers read a backslash as a slash and drop tabs and newlines from a location, so a path
    with any of them could leave the site as one starting with two slashes does.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(
        character == "\\" or character.isspace() or not character.isprintable()
        for character in target
    ):
        return None
    return target
