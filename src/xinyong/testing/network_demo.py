"""``make demo-network``: the synthetic city split across two city nodes under a province node.

"east" holds the records of Dongcheng's and Chaoyang's authorities (110101, 110105), "west"
those of Xicheng's and Haidian's (110102, 110108); the province takes the city-wide and national
authorities' records itself. Each node is a ``xinyong serve`` process on 127.0.0.1 with its own
SQLite store under ``var/demo-network``; the cities send their records up, the province sends
every listing down, and each cosigns its neighbours' checkpoints. Ctrl-C stops the network.
"""

import hashlib
import shutil
import time
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from xinyong.clock import utc_now
from xinyong.config import Settings
from xinyong.federation.links import region_area
from xinyong.federation.status import link_status
from xinyong.ingest.readers import ReadItem
from xinyong.ingest.service import IngestJob
from xinyong.policy import Pack, load_shipped
from xinyong.synth import generate
from xinyong.testing.network import Node, connect

ROOT = Path("var/demo-network")
CITIES = {"east": ("110101", "110105"), "west": ("110102", "110108")}


def split(city: Path, pack: Pack) -> dict[str, list[dict[str, Any]]]:
    """The synthetic city's rows by the node whose authorities made them, in ingest order."""
    areas = {name: [region_area(region) for region in regions] for name, regions in CITIES.items()}
    rows: dict[str, list[dict[str, Any]]] = {"beijing": [], **{name: [] for name in CITIES}}
    manifest = orjson.loads((city / "manifest.json").read_bytes())
    for name in manifest["ingest_order"]:
        for line in (city / name).read_bytes().splitlines():
            row = orjson.loads(line)
            authority = pack.authorities.get(row.get("authority", ""))
            area = authority.area if authority is not None else ""
            owner = next(
                (node for node, prefixes in areas.items() if any(map(area.startswith, prefixes))),
                "beijing",
            )
            rows[owner].append(row)
    return rows


def ingest(node: Node, pack: Pack, rows: list[dict[str, Any]]) -> int:
    items: list[ReadItem] = [(number, "", row) for number, row in enumerate(rows, start=1)]
    with node.factory.begin() as session:
        summary = IngestJob(node.factory, pack).run_in(
            session,
            items,
            channel="file",
            source_name=f"synthetic city, {node.name}'s authorities",
            digest=hashlib.sha256(orjson.dumps(rows)).hexdigest(),
            key_id=None,
        )
    return summary.stored


def main(persons: int = 5_000, orgs: int = 500) -> None:
    console = Console()
    pack = load_shipped("national")
    shutil.rmtree(ROOT, ignore_errors=True)
    city = ROOT / "city"
    console.print(f"generating a synthetic city of {persons:,} persons and {orgs:,} organisations")
    generate(city, persons=persons, orgs=orgs, seed=1, fmt="jsonl")
    province = Node("beijing", "province", f"sqlite:///{ROOT / 'beijing.db'}", ROOT / "beijing")
    cities = [
        Node(name, "city", f"sqlite:///{ROOT / f'{name}.db'}", ROOT / name, regions)
        for name, regions in CITIES.items()
    ]
    for node in cities:
        connect(province, node)
    nodes = [province, *cities]
    try:
        for node, rows in zip(nodes, split(city, pack).values(), strict=True):
            console.print(f"{node.name}: {ingest(node, pack, rows):,} records accepted")
        for node in nodes:
            node.tokens["relying_party"] = node.issue("relying_party")
            node.start()
            console.print(
                f"{node.name} ({node.level}) serves {node.url}; relying party key "
                f"{node.tokens['relying_party']}",
                soft_wrap=True,
            )
        while True:
            time.sleep(5)
            table = Table("node", "link", "sent", "waiting", "received", "cosigned", "errors")
            for node in nodes:
                settings = Settings(
                    database_url=node.database_url,
                    var_dir=node.var,
                    node_name=node.name,
                    node_level=node.level,
                    node_parent=_json(node.env.get("XINYONG_NODE_PARENT")),
                    node_children=_json(node.env.get("XINYONG_NODE_CHILDREN")) or (),
                )
                with node.factory() as session:
                    for link in link_status(session, settings, utc_now()):
                        table.add_row(
                            node.name,
                            f"{link.name} ({link.direction})",
                            f"#{link.sent_number}",
                            str(link.waiting),
                            f"#{link.received_number}",
                            str(link.cosigned_size),
                            str(link.errors),
                        )
            console.print(table)
    except KeyboardInterrupt:
        console.print("stopping the network")
    finally:
        for node in nodes:
            node.kill()


def _json(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


if __name__ == "__main__":
    main()
