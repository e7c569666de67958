"""Public search: p95 latency of a query over an index of 10^7 subjects, in process.

The subjects are generated with numpy (organisation names from district, brand, trade and
form; person names from surname and given names; codes from their index). The queries mix
exact codes, Chinese names, pinyin and Chinese names with a wrong character. The floor is
the bare work the index cannot avoid, on the same queries in the same run: a dict lookup for a
code, and one rapidfuzz ``process.extract`` over the candidate names the index scored.
"""

import random
import time
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from xinyong.search.index import Searchable, SearchIndex
from xinyong.search.tokens import name_tokens

DISTRICTS = [
    "北京",
    "上海",
    "天津",
    "重庆",
    "广州",
    "深圳",
    "杭州",
    "南京",
    "武汉",
    "成都",
    "西安",
    "苏州",
    "郑州",
    "长沙",
    "青岛",
    "沈阳",
    "宁波",
    "厦门",
    "济南",
    "合肥",
]
BRAND_CHARS = (
    "安邦宝诚达鼎恒弘华汇佳嘉金锦俊凯康乐力联隆龙美明南鹏奇启瑞润森晟盛泰腾天通万旺伟鑫信兴"
    "雅亚耀永优宇元远悦长振正志智中众卓泽祥新星海航宏远博创辰东方丰福富广国和"
)
TRADES = [
    "科技",
    "贸易",
    "建筑工程",
    "商贸",
    "物流",
    "餐饮管理",
    "文化传媒",
    "信息技术",
    "医药",
    "实业",
    "电子",
    "机械设备",
    "房地产开发",
    "环保科技",
    "教育咨询",
]
FORMS = ["有限公司", "股份有限公司", "有限责任公司"]
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕")
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅玉兰志强子涵浩然欣怡"
QUERIES_PER_KIND = 500
PERSON_SHARE = 0.1


def _pick(rng: np.random.Generator, pool: list[str], size: int) -> Any:
    return np.array(pool)[rng.integers(0, len(pool), size)]


def _subjects(size: int, seed: int = 7) -> Searchable:
    rng = np.random.default_rng(seed)
    persons = int(size * PERSON_SHARE)
    orgs = size - persons
    brand = np.strings.add(_pick(rng, list(BRAND_CHARS), orgs), _pick(rng, list(BRAND_CHARS), orgs))
    org_names = np.strings.add(
        np.strings.add(_pick(rng, DISTRICTS, orgs), brand),
        np.strings.add(_pick(rng, TRADES, orgs), _pick(rng, FORMS, orgs)),
    )
    given = np.where(
        rng.random(persons) < 0.6,
        np.strings.add(_pick(rng, list(GIVEN), persons), _pick(rng, list(GIVEN), persons)),
        _pick(rng, list(GIVEN), persons),
    )
    person_names = np.strings.add(_pick(rng, SURNAMES, persons), given)
    numbers = np.strings.zfill(np.arange(size).astype(str), 16)
    org_codes = np.strings.add("91", numbers[:orgs])
    person_codes = np.strings.add("11", numbers[orgs:])
    codes = np.concatenate([org_codes, person_codes]).tolist()
    shown = np.concatenate(
        [org_codes, np.strings.add(np.strings.slice(person_codes, 0, 6), "********0000")]
    ).tolist()
    return Searchable(
        refs=codes,
        kinds=["organisation"] * orgs + ["person"] * persons,
        names=np.concatenate([org_names, person_names]).tolist(),
        identifiers=codes,
        shown_ids=shown,
        regions=[None] * size,
    )


def _queries(subjects: Searchable, count: int) -> list[tuple[str, str]]:
    rng = random.Random(95)
    size = len(subjects.names)
    rows = [rng.randrange(size) for _ in range(4 * count)]
    queries: list[tuple[str, str]] = []
    for kind_at, row in enumerate(rows):
        name = subjects.names[row]
        kind = ("code", "chinese", "pinyin", "typo")[kind_at % 4]
        if kind == "code":
            queries.append((kind, subjects.identifiers[row]))
        elif kind == "chinese":
            queries.append((kind, name))
        elif kind == "pinyin":
            queries.append((kind, "".join(name_tokens(name))))
        else:
            at = rng.randrange(len(name))
            queries.append((kind, name[:at] + rng.choice(BRAND_CHARS) + name[at + 1 :]))
    return queries


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95) * 1000)


def run(quick: bool) -> list[dict[str, Any]]:
    size = 10**5 if quick else 10**7
    started = time.perf_counter()
    subjects = _subjects(size)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    index = SearchIndex.build(subjects)
    built = time.perf_counter() - started
    queries = _queries(subjects, QUERIES_PER_KIND // 5 if quick else QUERIES_PER_KIND)
    by_code = dict(zip(subjects.identifiers, range(size), strict=True))
    names = index.table.column("name")

    for _, query in queries[:8]:
        index.search(query)  # warm up: the pinyin syllable table is built on first use
    timings: dict[str, list[float]] = {"code": [], "chinese": [], "pinyin": [], "typo": []}
    floors: list[float] = []
    found = 0
    for kind, query in queries:
        begun = time.perf_counter()
        hits = index.search(query)
        timings[kind].append(time.perf_counter() - begun)
        found += bool(hits)
        if kind == "code":
            begun = time.perf_counter()
            by_code.get(query)
            floors.append(time.perf_counter() - begun)
            continue
        choices = names.take(index.candidates(query)).to_pylist()
        begun = time.perf_counter()
        process.extract(query, choices, scorer=fuzz.WRatio, limit=20)
        floors.append(time.perf_counter() - begun)

    everything = [value for values in timings.values() for value in values]
    value, floor = _p95(everything), _p95(floors)
    per_kind = ", ".join(f"{kind} {_p95(values):.1f}" for kind, values in timings.items())
    return [
        {
            "name": "search.p95",
            "value": round(value, 3),
            "unit": "ms",
            "floor": round(floor, 3),
            "ratio": round(floor / value, 3),
            "target": "p95 <= 50 ms at 10^7 subjects",
            "notes": f"{size:,} subjects ({PERSON_SHARE:.0%} persons), {len(queries):,} queries "
            f"(p95 ms by kind: {per_kind}); {found / len(queries):.0%} found something; "
            f"generated in {generated:,.0f} s, index built in {built:,.0f} s; floor: dict lookup "
            "for codes, one rapidfuzz extract over the same candidates for names",
        }
    ]
