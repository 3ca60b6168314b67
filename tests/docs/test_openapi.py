"""The OpenAPI document (docs/openapi.json, served at GET /api/openapi.json) is a valid OpenAPI 3.1
document, its examples match its own schemas, and it names every error code the code can answer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = json.loads((ROOT / "docs" / "openapi.json").read_text())


def test_the_document_is_valid_openapi_3_1():
    assert DOCUMENT["openapi"].startswith("3.1")
    validate(DOCUMENT)


def resolve(schema: dict) -> dict:
    """Inlines the document's components so jsonschema can follow `#/components/...` refs."""
    return {**schema, "components": DOCUMENT["components"]}


def test_every_example_matches_its_schema():
    checked = 0
    for operations in DOCUMENT["paths"].values():
        for method, operation in operations.items():
            if method not in {"get", "put", "post", "delete", "patch"}:
                continue
            for response in operation.get("responses", {}).values():
                if "$ref" in response:
                    response = DOCUMENT["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                for media in response.get("content", {}).values():
                    examples = [media["example"]] if "example" in media else []
                    examples += [e["value"] for e in media.get("examples", {}).values() if "value" in e]
                    for example in examples:
                        jsonschema.validate(example, resolve(media["schema"]), cls=jsonschema.Draft202012Validator)
                        checked += 1
    assert checked >= 15, f"only {checked} examples found"


def test_every_error_code_the_code_answers_is_documented():
    # error.rs maps ApiError to codes; access.rs maps the refusals (403, 404, 409).
    source = "".join((ROOT / "crates" / "chat" / "src" / name).read_text() for name in ("error.rs", "access.rs"))
    codes = set(re.findall(r'=> "([A-Z_]+)"', source))
    assert {"VALIDATION_ERROR", "NOT_FOUND", "LAST_ADMIN", "NOT_READY"} <= codes
    documented = set(DOCUMENT["components"]["schemas"]["Error"]["properties"]["code"]["enum"])
    assert codes == documented
