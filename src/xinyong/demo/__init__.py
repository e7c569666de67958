"""``xinyong demo``: a synthetic city built, ingested, evaluated and served, with keys and
accounts to try every surface with."""

from xinyong.demo.command import demo_command

__all__ = ["demo_command"]
