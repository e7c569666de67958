"""The column type of every instant in the store (SQLAlchemy is loaded only by what needs it)."""

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from xinyong.clock import as_utc


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored and read as aware UTC on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: Any, _dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)
