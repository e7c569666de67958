"""Imports every module that defines tables, so the metadata (and Alembic) sees the whole schema."""

import xinyong.accounts.models
import xinyong.audit.models
import xinyong.enforcement.models
import xinyong.ingest.legacy
import xinyong.keys.models
import xinyong.ledger.models
import xinyong.rights.models
import xinyong.rights.notices_models
import xinyong.scoring.models
import xinyong.store.models  # noqa: F401
