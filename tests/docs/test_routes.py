"""The component routers and the OpenAPI document agree: every route and method a component
declares (`.route("/api/rooms/:id", &[get(...), put(...)])` in components/*/src/lib.rs) is
documented, and every documented operation is declared by exactly one component."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = json.loads((ROOT / "docs" / "openapi.json").read_text())
ROUTE = re.compile(r'\.route\(\s*"([^"]+)"\s*,\s*&\[([^\]]*)\]\s*\)')
METHOD = re.compile(r"\b(public_get|get|post|put|delete|patch)\(")


def declared() -> list[tuple[str, str, str]]:
    """(component, method, OpenAPI path) for every endpoint of every component."""
    found = []
    for source in sorted((ROOT / "components").glob("*/src/lib.rs")):
        component = source.parts[-3]
        for pattern, endpoints in ROUTE.findall(source.read_text()):
            path = re.sub(r":(\w+)", r"{\1}", pattern)
            for method in METHOD.findall(endpoints):
                found.append((component, "get" if method == "public_get" else method, path))
    return found


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
