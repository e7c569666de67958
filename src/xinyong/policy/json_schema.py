"""JSON Schema of the pack format, generated from the models, for editors and other tools."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from xinyong.policy.concepts import CONCEPTS, PACK_FILE
from xinyong.policy.models import PackManifest

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def pack_json_schema() -> dict[str, Any]:
    """A schema over a whole pack: an object mapping each file's relative path to its document.

    Each document's own schema is under ``$defs`` (``PackManifest``, ``AuthoritiesDocument``,
    ``CatalogueDocument``), for validating a single file. Rules that span fields or files
    (grades by polarity, penalty periods, references) are checked only by the loader.
    """
    documents: list[type[BaseModel]] = [PackManifest, *(concept.document for concept in CONCEPTS)]
    _, definitions = models_json_schema(
        [(document, "validation") for document in documents], ref_template="#/$defs/{model}"
    )

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/$defs/{name}"}

    return {
        "$schema": DRAFT_2020_12,
        "title": "xinyong policy pack",
        "description": (
            "A policy pack: each property is a file of the pack folder, by its path relative "
            "to the folder; files not named here are refused."
        ),
        "type": "object",
        "properties": {
            PACK_FILE: ref(PackManifest.__name__),
            **{
                concept.pattern: ref(concept.document.__name__)
                for concept in CONCEPTS
                if not concept.is_folder
            },
        },
        "patternProperties": {
            concept.path_regex: ref(concept.document.__name__)
            for concept in CONCEPTS
            if concept.is_folder
        },
        "required": [PACK_FILE],
        "additionalProperties": False,
        "$defs": definitions["$defs"],
    }
