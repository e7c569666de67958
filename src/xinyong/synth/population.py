"""The people and organisations of the synthetic city, each derived from its index alone.

Nothing here holds the population: ``Population.person(i)`` recomputes person ``i`` from the
seed and the index every time it is asked, so a city of 10^7 people costs no more memory than
one of ten, and an organisation's legal representative is only a person index.

Identity numbers are unique by construction, not by luck: a seeded affine permutation maps
each index to its own slot of the (district, birth date, sequence) space for people and of the
organisation-code body space for organisations.
"""

import hashlib
import math
import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from faker import Faker

from xinyong.identifiers import IdentifierKind, orgcode, parse, resident_id, uscc
from xinyong.synth.days import add_years, uniform_day

# Separate random streams, so that adding a draw to one never shifts the values of another.
STREAM_PERSON_IDENTITY = 1
STREAM_ORGANISATION_IDENTITY = 2
STREAM_PERSON_CONDUCT = 3
STREAM_ORGANISATION_CONDUCT = 4
STREAM_CITY_LAYOUT = 5

BIRTH_FIRST = date(1940, 1, 1)
BIRTH_LAST = date(2006, 12, 31)
ADULT_YEARS = 18
# Codes issued after the 2015 reform carry a body of "MA" and six characters; older
# organisations kept their GB 11714 organisation code, which is eight digits here.
REFORM_DAY = date(2015, 10, 1)
SEQUENCES = 999  # sequence codes 001-999
SUSPECT_SHARE = 0.004


def entity_random(seed: int, stream: int, index: int) -> random.Random:
    """The random generator of one entity in one stream: the same numbers on every run."""
    return random.Random((seed << 48) | (stream << 40) | index)


_MASK64 = (1 << 64) - 1


def stream_key(seed: int, stream: int) -> int:
    """A 64-bit key for ``entity_unit`` draws of one stream."""
    digest = hashlib.blake2b(f"{seed}:{stream}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def entity_unit(key: int, index: int) -> float:
    """One uniform draw in [0, 1) for entity ``index`` (SplitMix64): a fraction of the cost of
    seeding a ``random.Random``, for the question most people answer "no" to."""
    z = (key + (index + 1) * 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return ((z ^ (z >> 31)) >> 11) * 2.0**-53


@dataclass(frozen=True, slots=True)
class District:
    """A Beijing district: GB/T 2260 code, name, the one-character short form used in document
    numbers, and its resident population in 10,000s (2020 census), which weights the draw."""

    code: str
    name: str
    short: str
    population: float


DISTRICTS: tuple[District, ...] = (
    District("110101", "东城区", "东", 70.9),
    District("110102", "西城区", "西", 110.6),
    District("110105", "朝阳区", "朝", 345.2),
    District("110106", "丰台区", "丰", 201.9),
    District("110107", "石景山区", "石", 56.8),
    District("110108", "海淀区", "海", 313.3),
    District("110109", "门头沟区", "门", 39.3),
    District("110111", "房山区", "房", 131.3),
    District("110112", "通州区", "通", 184.0),
    District("110113", "顺义区", "顺", 132.4),
    District("110114", "昌平区", "昌", 226.9),
    District("110115", "大兴区", "兴", 199.4),
    District("110116", "怀柔区", "怀", 44.1),
    District("110117", "平谷区", "平", 45.7),
    District("110118", "密云区", "密", 52.8),
    District("110119", "延庆区", "延", 34.6),
)
DISTRICT_BY_CODE = {district.code: district for district in DISTRICTS}
_DISTRICT_WEIGHTS = tuple(district.population for district in DISTRICTS)


@dataclass(frozen=True, slots=True)
class AffinePermutation:
    """``i -> (multiplier * i + offset) mod size``: a bijection of ``range(size)`` that
    scatters neighbouring indices across the whole range."""

    size: int
    multiplier: int
    offset: int

    @classmethod
    def seeded(cls, size: int, rng: random.Random) -> "AffinePermutation":
        # A multiplier near size / golden ratio spreads consecutive indices evenly; it only
        # has to be coprime with size to make the map a bijection.
        multiplier = int(size * 0.6180339887) + rng.randrange(max(1, size // 1000))
        while math.gcd(multiplier, size) != 1:
            multiplier += 1
        return cls(size, multiplier % size, rng.randrange(size))

    def __call__(self, index: int) -> int:
        return (self.multiplier * index + self.offset) % self.size


@dataclass(frozen=True, slots=True)
class NamePools:
    """Names drawn once per seed from Faker ``zh_CN`` (slow per call), then picked by index."""

    surnames: tuple[str, ...]
    male_given: tuple[str, ...]
    female_given: tuple[str, ...]
    streets: tuple[str, ...]
    trade_names: tuple[str, ...]


@lru_cache(maxsize=4)
def name_pools(seed: int) -> NamePools:
    faker = Faker("zh_CN")
    faker.seed_instance(seed)
    surnames = tuple(faker.last_name() for _ in range(4096))  # keeps Faker's frequency weights
    male = tuple(faker.first_name_male() for _ in range(1024))
    female = tuple(faker.first_name_female() for _ in range(1024))
    streets = tuple(dict.fromkeys(faker.street_name() for _ in range(2048)))
    # Faker's few company prefixes, widened with two-character names built from given-name
    # characters, the way shop and company trade names (字号) are commonly made.
    characters = sorted({ch for name in male + female for ch in name})
    composed = {
        faker.random_element(characters) + faker.random_element(characters) for _ in range(3000)
    }
    prefixes = {faker.company_prefix() for _ in range(400)}
    trade_names = tuple(sorted(prefixes | composed))
    return NamePools(surnames, male, female, streets, trade_names)


@dataclass(frozen=True, slots=True)
class Person:
    index: int
    resident_id: str
    name: str
    sex: str  # male | female
    birth_date: date
    district: District

    def adult_on(self) -> date:
        return add_years(self.birth_date, ADULT_YEARS)


@dataclass(frozen=True, slots=True)
class OrganisationForm:
    """A kind of organisation: its GB 32100 registration-authority and entity-type codes, its
    ``org_type`` on the register, its share of the city's organisations, how its name is made,
    and the offices of the pack that register it."""

    registration_authority: str
    entity_type: str
    org_type: str
    weight: float
    naming: str
    registrars: tuple[tuple[str, str], ...] = ()
    """(area, region) of each office of the pack that registers the form, the most local
    area first (an area is a GB/T 2260 prefix: ``110105`` a district, ``11`` all Beijing)."""

    def registering_region(self, district: str) -> str | None:
        """The region of the office that registers an organisation of this form located in
        ``district``: the most local office whose area holds it; None if no office does."""
        return next((region for area, region in self.registrars if district.startswith(area)), None)


@dataclass(frozen=True, slots=True)
class Tenure:
    """A registered state from ``since`` on: who represents the organisation and where it is."""

    since: date
    representative: int  # person index
    address: str


@dataclass(frozen=True, slots=True)
class Organisation:
    index: int
    uscc: str  # as the registry holds it; may carry a wrong check character
    suspect: bool
    name: str
    form: OrganisationForm
    district: District  # where it is; its code names the region of the office that registers it
    established_on: date
    registered_capital: int | None  # yuan
    history: tuple[Tenure, ...]  # first entry: at establishment


class Population:
    """The city: ``persons`` people and ``organisations`` organisations for one seed."""

    def __init__(
        self,
        persons: int,
        organisations: int,
        seed: int,
        as_of: date,
        forms: tuple[OrganisationForm, ...],
    ) -> None:
        if persons < 0 or organisations < 0 or seed < 0:
            raise ValueError("persons, organisations and seed must not be negative")
        if organisations and not persons:
            raise ValueError("organisations need people of the city as legal representatives")
        if organisations and not forms:
            raise ValueError("no organisation form can be registered under this policy pack")
        self.persons = persons
        self.organisations = organisations
        self.seed = seed
        self.as_of = as_of
        self.forms = forms
        self._form_weights = tuple(form.weight for form in forms)
        self.pools = name_pools(seed)
        self._birth_last = min(BIRTH_LAST, add_years(as_of, -ADULT_YEARS))
        self._birth_days = (self._birth_last - BIRTH_FIRST).days + 1
        if self._birth_days <= 0:
            raise ValueError(
                f"as-of date {as_of} leaves no adult born in {BIRTH_FIRST.year} or later"
            )
        layout = entity_random(seed, STREAM_CITY_LAYOUT, 0)
        # Each district gets slots in proportion to its population, the largest all of its
        # (birth date x sequence) space; the smaller ones scatter their share over that space.
        per_district = self._birth_days * SEQUENCES
        largest = max(_DISTRICT_WEIGHTS)
        shares = [int(per_district * weight / largest) for weight in _DISTRICT_WEIGHTS]
        self._slot_starts = [sum(shares[:i]) for i in range(len(shares))]
        self._district_spread = tuple(
            AffinePermutation.seeded(per_district, layout) for _ in DISTRICTS
        )
        self._person_slots = AffinePermutation.seeded(sum(shares), layout)
        if persons > self._person_slots.size:
            raise ValueError(f"at most {self._person_slots.size} persons fit the identity space")
        self._numeric_bodies = AffinePermutation.seeded(10**8, layout)
        self._reform_bodies = AffinePermutation.seeded(len(uscc.ALPHABET) ** 6, layout)
        if organisations > self._numeric_bodies.size:
            raise ValueError(f"at most {self._numeric_bodies.size} organisations are supported")

    def _identity_slot(self, index: int) -> tuple[District, date, int]:
        slot = self._person_slots(index)
        which = bisect_right(self._slot_starts, slot) - 1
        spread = self._district_spread[which](slot - self._slot_starts[which])
        day, sequence = divmod(spread, SEQUENCES)
        return DISTRICTS[which], BIRTH_FIRST + timedelta(days=day), sequence + 1

    def birth_date(self, index: int) -> date:
        """Person ``index``'s birth date, without building the whole person."""
        return self._identity_slot(index)[1]

    def person(self, index: int) -> Person:
        district, birth_date, sequence = self._identity_slot(index)
        rng = entity_random(self.seed, STREAM_PERSON_IDENTITY, index)
        sex = "male" if sequence % 2 else "female"
        given = self.pools.male_given if sex == "male" else self.pools.female_given
        name = rng.choice(self.pools.surnames) + rng.choice(given)
        code = resident_id.make(district.code, birth_date, sequence)
        return Person(index, code, name, sex, birth_date, district)

    def organisation(self, index: int) -> Organisation:
        rng = entity_random(self.seed, STREAM_ORGANISATION_IDENTITY, index)
        form = rng.choices(self.forms, self._form_weights)[0]
        district = rng.choices(DISTRICTS, _DISTRICT_WEIGHTS)[0]
        established_on = self._establishment(rng, form)
        if established_on >= REFORM_DAY:
            number = self._reform_bodies(index)
            body = "MA" + "".join(
                uscc.ALPHABET[(number // len(uscc.ALPHABET) ** k) % len(uscc.ALPHABET)]
                for k in range(5, -1, -1)
            )
        else:
            body = f"{self._numeric_bodies(index):08d}"
        # The code carries the region of the office that registers the organisation, which is
        # the municipal bureau where the district has no office of its own.
        registered_in = form.registering_region(district.code)
        code = uscc.make(
            form.registration_authority, form.entity_type, registered_in or district.code, body
        )
        # A few registries hold legacy codes with a wrong check character (GB 32100 position
        # 18, or the organisation-code check at 17); the platform must keep them as suspect.
        # Only a registered organisation can have one: its registry is where the code lives.
        suspect = rng.random() < SUSPECT_SHARE and registered_in is not None
        if suspect:
            code = _miskeyed_check(code, rng, self.as_of)
        name = self._name(rng, form, district)
        capital = _registered_capital(rng, form)
        history = self._history(rng, district, established_on)
        return Organisation(
            index, code, suspect, name, form, district, established_on, capital, history
        )

    def _establishment(self, rng: random.Random, form: OrganisationForm) -> date:
        # Most organisations alive today were set up recently: market entities churn fastest,
        # social organisations less, village collectives are mostly old.
        young = {"9": 0.75, "5": 0.45}.get(form.registration_authority, 0.2)
        start = date(2016, 1, 1) if rng.random() < young else date(1993, 1, 1)
        return uniform_day(rng, min(start, self.as_of), self.as_of)

    def _name(self, rng: random.Random, form: OrganisationForm, district: District) -> str:
        trade = rng.choice(self.pools.trade_names)
        place = "北京市" + district.name
        words = _NAMING[form.naming]
        word = rng.choice(words)
        if form.naming == "enterprise":
            return f"北京{trade}{word}有限公司"
        if form.naming == "village":
            return f"{place}{rng.choice(self.pools.surnames)}{word}村股份经济合作社"
        if form.naming == "foundation":
            return f"北京{trade}{word}基金会"
        if form.naming == "association":
            return f"{place}{word}协会"
        return f"{place}{trade}{word}"

    def _history(
        self, rng: random.Random, district: District, established_on: date
    ) -> tuple[Tenure, ...]:
        representative = self._adult_on(rng, established_on)
        address = self._address(rng, district)
        history = [Tenure(established_on, representative, address)]
        roll = rng.random()
        changes = 2 if roll < 0.06 else 1 if roll < 0.24 else 0
        first_change = established_on + timedelta(days=60)
        if first_change >= self.as_of:
            return tuple(history)
        days = sorted(uniform_day(rng, first_change, self.as_of) for _ in range(changes))
        for day in dict.fromkeys(days):
            # Most changes of registration are a new legal representative; the rest a move.
            if rng.random() < 0.7:
                representative = self._adult_on(rng, day, avoid=representative)
            else:
                address = self._address(rng, district)
            history.append(Tenure(day, representative, address))
        return tuple(history)

    def _adult_on(self, rng: random.Random, day: date, avoid: int = -1) -> int:
        """A person of the city who is an adult on ``day`` (tries a few, as a registry would
        never accept a minor; the fallback keeps the draw bounded)."""
        candidate = avoid
        for _ in range(32):
            candidate = rng.randrange(self.persons)
            if candidate != avoid and add_years(self.birth_date(candidate), ADULT_YEARS) <= day:
                return candidate
        return candidate

    def _address(self, rng: random.Random, district: District) -> str:
        street = rng.choice(self.pools.streets)
        number = rng.randint(1, 320)
        place = f"北京市{district.name}{street}{number}号"
        if rng.random() < 0.5:
            return place
        return f"{place}{rng.randint(1, 24)}号楼{rng.randint(101, 2206)}室"


_NAMING: dict[str, tuple[str, ...]] = {
    naming: tuple(words.split())
    for naming, words in {
        "enterprise": "科技 网络科技 信息技术 文化传媒 商贸 建筑工程 餐饮管理 物业管理 文化传播 "
        "医药 物流 房地产开发 企业管理咨询 装饰工程 教育科技 汽车服务 环保科技 生物技术 食品 "
        "机械设备",
        "shop": "小吃店 便利店 百货商店 理发店 五金店 水果店 餐馆 洗衣店 烟酒店 家电维修部 眼镜店 "
        "面馆 花店 打印部",
        "cooperative": "蔬菜种植专业合作社 果品专业合作社 养殖专业合作社 板栗专业合作社",
        "association": "软件行业 餐饮行业 摄影家 老年人体育 物业管理 汽车流通 书法家 青年企业家 "
        "围棋 跆拳道 家政服务 个体劳动者",
        "non_enterprise": "培训学校 养老照料中心 社会工作事务所 幼儿园 康复中心",
        "foundation": "公益 慈善 教育 助学",
        "village": "各庄 家营 家坟 庄 屯",
    }.items()
}

# The organisation forms of the city and their shares. A form that no registration authority
# of the pack registers (village collectives, registered by agriculture offices) still occurs,
# known only from other authorities' records.
ORGANISATION_FORMS: tuple[OrganisationForm, ...] = (
    OrganisationForm("9", "1", "enterprise", 62.0, "enterprise"),
    OrganisationForm("9", "2", "individual_business", 27.0, "shop"),
    OrganisationForm("9", "3", "farmers_cooperative", 1.5, "cooperative"),
    OrganisationForm("5", "1", "social_organisation", 3.0, "association"),
    OrganisationForm("5", "2", "private_non_enterprise", 4.0, "non_enterprise"),
    OrganisationForm("5", "3", "foundation", 0.5, "foundation"),
    OrganisationForm("N", "2", "village_collective", 2.0, "village"),
)


def _registered_capital(rng: random.Random, form: OrganisationForm) -> int | None:
    if form.registration_authority == "N":
        return None
    if form.entity_type == "2" and form.registration_authority == "9":
        return rng.choice((10_000, 30_000, 50_000, 100_000, 200_000, 500_000))
    if form.registration_authority == "5":
        return rng.choice((30_000, 100_000, 500_000, 2_000_000, 8_000_000))
    capitals = (100_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 50_000_000)
    return rng.choices(capitals, (10, 20, 30, 15, 12, 9, 4))[0]


def _miskeyed_check(code: str, rng: random.Random, as_of: date) -> str:
    if rng.random() < 0.34:
        # A wrong organisation-code check with a GB 32100 check computed over it, as issued.
        bodies = [code[:16] + ch for ch in orgcode.CHECK_CHARACTERS if ch != code[16]]
        candidates = [body + uscc.check_character(body) for body in bodies]
    else:
        candidates = [code[:17] + ch for ch in uscc.ALPHABET if ch != code[17]]
    return miskeyed(candidates, IdentifierKind.USCC, rng, as_of)


def miskeyed(candidates: list[str], kind: IdentifierKind, rng: random.Random, as_of: date) -> str:
    """One of ``candidates``, codes with a wrong check character, that still reads as a
    ``kind`` whose only fault is its check: an all-digit USCC can otherwise read as a
    resident identity number, and a resident identity number as a USCC."""
    readable = []
    for candidate in candidates:
        parsed = parse(candidate, kind=None, today=as_of)
        if parsed.kind is kind and parsed.suspect:
            readable.append(candidate)
    return rng.choice(readable)
