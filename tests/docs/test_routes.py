"""The component routers and the OpenAPI document agree: every route and method a component
declares (`.route("/api/rooms/:id", &[get(...), put_json(...)])` in components/*/src/lib.rs) is
documented, every documented operation is declared by exactly one component, and the endpoints
declared to read a JSON body (`post_json`, `put_json`: only their bodies are ever read) are
exactly the operations documented with a request body."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = json.loads((ROOT / "docs" / "openapi.json").read_text())
ROUTE = re.compile(r'\.route\(\s*"([^"]+)"\s*,\s*&\[([^\]]*)\]\s*,?\s*\)')
METHOD = re.compile(r"\b(public_get|get|post|put|delete|patch)(_json)?\(")


def endpoints() -> list[tuple[str, str, str, bool]]:
    """(component, method, OpenAPI path, reads a JSON body) for every endpoint of every component."""
    found = []
    for source in sorted((ROOT / "components").glob("*/src/lib.rs")):
        component = source.parts[-3]
        for pattern, declared_endpoints in ROUTE.findall(source.read_text()):
            path = re.sub(r":(\w+)", r"{\1}", pattern)
            for method, json_body in METHOD.findall(declared_endpoints):
                found.append((component, "get" if method == "public_get" else method, path, bool(json_body)))
    return found


def declared() -> list[tuple[str, str, str]]:
    """(component, method, OpenAPI path) for every endpoint of every component."""
    return [(component, method, path) for component, method, path, _ in endpoints()]


def documented() -> set[tuple[str, str]]:
    methods = {"get", "put", "post", "delete", "patch"}
    return {(method, path) for path, item in DOCUMENT["paths"].items() for method in item if method in methods}


def test_the_routers_declare_endpoints():
    assert len(declared()) >= 20, declared()


def test_every_declared_route_and_method_is_documented():
    missing = sorted({(m, p) for _, m, p in declared()} - documented())
    assert not missing, f"served but not in docs/openapi.json: {missing}"


def test_every_documented_operation_is_served():
    extra = sorted(documented() - {(m, p) for _, m, p in declared()})
    assert not extra, f"in docs/openapi.json but served by no component: {extra}"


def test_each_operation_is_served_by_one_component():
    seen: dict[tuple[str, str], list[str]] = {}
    for component, method, path in declared():
        seen.setdefault((method, path), []).append(component)
    assert {key: owners for key, owners in seen.items() if len(owners) > 1} == {}


def test_exactly_the_operations_documented_with_a_body_are_declared_to_read_one():
    with_body = {
        (method, path)
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "requestBody" in operation
    }
    reading = {(method, path) for _, method, path, json_body in endpoints() if json_body}
    assert reading == with_body
