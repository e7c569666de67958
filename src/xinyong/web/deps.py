"""Request dependencies shared by every router: the store and its sessions, the pack in force."""

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from xinyong.policy import Pack


def get_sessionmaker(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    return factory


def get_session(request: Request) -> Iterator[Session]:
    with get_sessionmaker(request)() as session:
        yield session


def get_pack(request: Request) -> Pack:
    pack: Pack = request.app.state.pack
    return pack
