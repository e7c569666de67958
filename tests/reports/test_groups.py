"""Groups decoded from identifiers, and how charts label them with or without a CJK font."""

from __future__ import annotations

from datetime import date

from xinyong.identifiers import resident_id, uscc
from xinyong.reports.groups import label, ordered, profile

DAY = date(2026, 11, 1)


def test_a_resident_id_gives_region_age_band_and_sex() -> None:
    found = profile(resident_id.make("110108", date(1990, 6, 1), 12), DAY)
    assert (found.region, found.subject_type, found.age_band, found.sex, found.org_type) == (
        "110108",
        "person",
        "35-44",
        "female",
        None,
    )


def test_a_uscc_gives_region_and_organisation_type() -> None:
    found = profile(uscc.make("5", "1", "310101", "00000042"), DAY)
    assert (found.region, found.subject_type, found.age_band, found.sex, found.org_type) == (
        "310101",
        "organisation:51",
        None,
        None,
        "51",
    )
    assert label("org_type", "51").zh == "民政·社会团体"


def test_labels_fall_back_to_codes_without_a_cjk_font() -> None:
    # The charts' module imports matplotlib (a second): here, not at every worker's collection.
    from xinyong.reports.render import label_text

    assert label_text(label("org_type", "91"), cjk=True) == "工商·企业 (91)"
    assert label_text(label("org_type", "91"), cjk=False) == "91"
    assert label_text(label("sex", "male"), cjk=False) == "male"
    assert label_text(label("region", "110105"), cjk=True) == "110105"


def test_age_bands_read_youngest_first() -> None:
    assert ordered("age_band", ["65+", "25-34", "<25", "unknown"]) == [
        "<25",
        "25-34",
        "65+",
        "unknown",
    ]
