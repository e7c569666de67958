"""A node's settings: neighbours need a named node, names of their own, and children regions;
jurisdiction follows the regions' GB/T 2260 prefixes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from xinyong.config import NodeLink, Settings
from xinyong.federation.links import Direction, LinkError, links, region_area
from xinyong.ledger.checkpoint import SigningKey
from xinyong.policy import Pack

KEY = SigningKey.generate("n.example/ledger").verifier.encode()


def child(name: str, *regions: str) -> NodeLink:
    return NodeLink(name=name, url="http://127.0.0.1:9", key=KEY, regions=regions)


def test_neighbours_need_a_named_node_distinct_names_and_children_regions() -> None:
    with pytest.raises(ValidationError, match="XINYONG_NODE_NAME"):
        Settings(node_children=(child("east", "110105"),))
    with pytest.raises(ValidationError, match="a name of its own"):
        Settings(
            node_name="beijing",
            node_level="province",
            node_children=(child("east", "110105"), child("east", "110108")),
        )
    with pytest.raises(ValidationError, match="a name of its own"):
        Settings(node_name="east", node_level="province", node_children=(child("east", "110105"),))
    with pytest.raises(ValidationError, match="need regions"):
        Settings(node_name="beijing", node_level="province", node_children=(child("east"),))
    with pytest.raises(ValidationError):
        child("East", "110105")  # names are lower case
    with pytest.raises(ValidationError):
        child("east", "1101")  # a region is a six-digit division
    settings = Settings(
        node_name="beijing",
        node_level="province",
        node_parent=NodeLink(name="national", url="https://nation.example", key=KEY),
        node_children=(child("east", "110105"), child("west", "110108")),
    )
    assert [(link.name, link.direction) for link in links(settings)] == [
        ("national", Direction.PARENT),
        ("east", Direction.CHILD),
        ("west", Direction.CHILD),
    ]


@given(st.sampled_from(["110000", "110100", "110105", "440300", "440305"]))
def test_a_region_covers_the_divisions_under_it(region: str) -> None:
    area = region_area(region)
    assert region.startswith(area) and not area.endswith("00")
    assert set(region[len(area) :]) <= {"0"}


def test_a_child_hosts_only_the_authorities_of_its_regions(national: Pack) -> None:
    settings = Settings(
        node_name="beijing", node_level="province", node_children=(child("east", "110105"),)
    )
    [east] = links(settings)
    assert east.hosts(national, "court.110105") and east.hosts(national, "market.110105")
    assert not east.hosts(national, "court.110108")  # Haidian's
    assert not east.hosts(national, "court.110000")  # the city's high court is above it
    assert not east.hosts(national, "no.such.authority")
    whole = Settings(
        node_name="nation", node_level="national", node_children=(child("bj", "110000"),)
    )
    [beijing] = links(whole)
    assert all(beijing.hosts(national, code) for code in ("court.110000", "court.110108"))


def test_a_neighbour_key_that_does_not_parse_is_said_at_start() -> None:
    other = SigningKey.generate("other.example/ledger").verifier.encode()
    name, _, encoded = KEY.split("+", 2)  # base64 may hold "+" too
    forged = "+".join((name, other.split("+", 2)[1], encoded))  # another key's id
    settings = Settings(
        node_name="beijing",
        node_level="province",
        node_children=(
            NodeLink(name="east", url="http://127.0.0.1:9", key=forged, regions=("110105",)),
        ),
    )
    with pytest.raises(LinkError, match="the key of the neighbour east"):
        links(settings)
