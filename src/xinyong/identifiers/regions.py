"""Administrative division names (GB/T 2260) for the six-digit region codes subjects carry.

python-stdnum ships the table (``stdnum/cn/loc.dat``, the divisions that have existed, with
the county-level names); a code it does not know gets no name, and the code is shown instead.
"""

from __future__ import annotations

from functools import cache


@cache
def region_name(code: str | None) -> str | None:
    """``110108`` → 北京市海淀区; None for a code that is not a known division."""
    if not code or len(code) != 6 or not code.isdigit():
        return None
    # Imported here: identifiers are checked by code that never names a region (a mirror).
    from stdnum import numdb

    parts = numdb.get("cn/loc").info(code)
    if len(parts) < 2 or not parts[1][1]:
        return None
    province = _current(parts[0][1].get("province", ""))
    county = _current(parts[1][1].get("county", ""))
    if code.endswith("0000") or county in ("", "市辖区", "县", province):
        return province or None
    return province + county


def _current(names: str) -> str:
    """The latest of a division's names: the table lists them as ``[1983-1989]南头区办事处,
    [1990-]南山区``."""
    latest = names.split(",")[-1]
    return latest.split("]", 1)[1] if latest.startswith("[") else latest
