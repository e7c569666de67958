"""Rendered public reports are kept per state of the file, the least recently asked for
dropped first; any change to what a report shows is a new state."""

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from xinyong.portal.renders import Rendered, RenderedReports, file_state

FILE: dict[str, Any] = {
    "subject": {"ref": "91110105MA0000A19L", "name": "北京示例科技有限公司", "region": "110105"},
    "as_of": "2026-12-06",
    "entries": [],
}


def test_the_least_recently_asked_for_report_goes_first() -> None:
    kept = RenderedReports(size=2)
    kept.put("pdf", "a", Rendered("XY-1", b"a"))
    kept.put("pdf", "b", Rendered("XY-2", b"b"))
    assert kept.get("pdf", "a") == Rendered("XY-1", b"a")  # "a" is now the more recent
    kept.put("html", "a", Rendered("XY-3", b"<a>"))
    assert kept.get("pdf", "b") is None
    assert kept.get("pdf", "a") is not None and kept.get("html", "a") is not None


@given(key=st.sampled_from(["as_of", "entries", "subject"]), value=st.text(max_size=5))
def test_any_change_to_the_file_is_a_new_state(key: str, value: str) -> None:
    changed = {**FILE, key: value}
    assert file_state(dict(reversed(FILE.items()))) == file_state(FILE)  # order is no change
    assert file_state(changed) != file_state(FILE)
