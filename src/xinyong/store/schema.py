"""Imports every module that defines tables, so the metadata (and Alembic) sees the whole schema."""

import xinyong.enforcement.models
import xinyong.ledger.models
import xinyong.store.models  # noqa: F401
