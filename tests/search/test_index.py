"""The search index: codes by hash, names by Chinese, pinyin, initials and with typos; saved,
loaded and switched atomically; full resident identity numbers never stored."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xinyong.identifiers import IdentifierKind, mask
from xinyong.search.index import Searchable, SearchIndex
from xinyong.search.publish import IndexShelf, publish
from xinyong.search.tokens import readings, segment
from xinyong.testing.samples import organisation, person

ORGANISATIONS = [
    "华为技术有限公司",
    "北京示例科技有限公司",
    "北京示范科技有限公司",
    "上海浦东发展银行股份有限公司",
    "ABC（北京）咨询有限公司",
]
PERSONS = ["张三", "李四", "王小明"]


def _searchable(orgs: list[str], persons: list[str]) -> Searchable:
    org_ids = [organisation(i) for i in range(len(orgs))]
    person_ids = [person(i) for i in range(len(persons))]
    return Searchable(
        refs=org_ids + [str(1000 + i) for i in range(len(persons))],
        kinds=["organisation"] * len(orgs) + ["person"] * len(persons),
        names=orgs + persons,
        identifiers=org_ids + person_ids,
        shown_ids=org_ids + [mask(code, IdentifierKind.RESIDENT_ID) for code in person_ids],
        regions=["110105"] * (len(orgs) + len(persons)),
    )


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(_searchable(ORGANISATIONS, PERSONS))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("华为", "华为技术有限公司"),  # part of the name
        ("华为技术有限公司", "华为技术有限公司"),
        ("华伪技术", "华为技术有限公司"),  # homophone typo
        ("华为技木有限公司", "华为技术有限公司"),  # wrong character
        ("huawei", "华为技术有限公司"),  # pinyin
        ("Hua Wei Ji Shu", "华为技术有限公司"),
        ("huawie", "华为技术有限公司"),  # pinyin with swapped letters
        ("浦东发展银行", "上海浦东发展银行股份有限公司"),
        ("zhangsan", "张三"),
        ("zhnagsan", "张三"),
        ("zs", "张三"),  # initials
        ("wangxiaoming", "王小明"),
        ("abc", "ABC（北京）咨询有限公司"),
    ],
)
def test_names_are_found_in_chinese_pinyin_initials_and_with_typos(
    index: SearchIndex, query: str, expected: str
) -> None:
    hits = index.search(query)
    assert hits and hits[0].name == expected, [hit.name for hit in hits]


def test_closer_names_rank_first(index: SearchIndex) -> None:
    names = [hit.name for hit in index.search("北京示例科技")]
    assert names[:2] == ["北京示例科技有限公司", "北京示范科技有限公司"]


def test_codes_are_found_exactly_in_any_case(index: SearchIndex) -> None:
    code = organisation(3)
    assert [hit.name for hit in index.search(code.lower())] == [ORGANISATIONS[3]]
    assert index.search(code[:-1] + ("0" if code[-1] != "0" else "1")) == []
    found = index.search(person(1))
    assert [(hit.name, hit.kind, hit.ref) for hit in found] == [("李四", "person", "1001")]
    assert "*" in found[0].shown_id and found[0].shown_id != person(1)


def test_nothing_is_found_for_nothing(index: SearchIndex) -> None:
    assert index.search("") == []
    assert index.search("   ") == []
    assert index.search("量子引力") == []


def test_pinyin_is_split_into_syllables_and_typos_are_repaired() -> None:
    assert segment("xianggang") == (["xiang", "gang"], 0)
    assert ["zhang", "san"] in readings("zhnagsan")
    assert readings("beijing") == [["bei", "jing"]]


def test_saved_index_loads_with_the_same_answers_and_no_full_identity_number(
    index: SearchIndex, tmp_path: Path
) -> None:
    folder = publish(tmp_path, index, {"as_of": "2026-11-01"})
    contents = b"".join(path.read_bytes() for path in folder.iterdir())
    assert not [code for code in map(person, range(3)) if code.encode() in contents]
    loaded = SearchIndex.load(folder)
    for query in ("华为", "zhangsan", organisation(2), person(2)):
        assert loaded.search(query) == index.search(query)
    assert loaded.counts == {"organisation": len(ORGANISATIONS), "person": len(PERSONS)}


def test_a_new_build_replaces_the_old_one_for_readers(tmp_path: Path) -> None:
    shelf = IndexShelf(tmp_path)
    assert shelf.current() is None
    publish(tmp_path, SearchIndex.build(_searchable(ORGANISATIONS[:1], [])), {})
    first = shelf.current()
    assert first is not None and len(first) == 1
    for count in (2, 3):
        publish(tmp_path, SearchIndex.build(_searchable(ORGANISATIONS[:count], [])), {})
    current = shelf.current()
    assert current is not None and len(current) == 3
    assert len([path for path in tmp_path.iterdir() if path.is_dir()]) == 2


def test_an_empty_index_answers_nothing(tmp_path: Path) -> None:
    empty = SearchIndex.build(_searchable([], []))
    assert empty.search("华为") == [] and empty.search(organisation(1)) == []


CHARACTERS = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林高罗明华国建伟芳军敏强丽静"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.text(alphabet=CHARACTERS, min_size=2, max_size=4), min_size=1, max_size=40))
def test_every_name_and_code_finds_its_subject(names: list[str]) -> None:
    searchable = _searchable(names, [])
    built = SearchIndex.build(searchable)
    for name, code in zip(names, searchable.identifiers, strict=True):
        assert [hit.ref for hit in built.search(code)] == [code]
        hits = built.search(name, limit=50)
        assert code in [hit.ref for hit in hits if hit.name == name]
