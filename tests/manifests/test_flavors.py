"""The two flavors' manifests describe the same app: spin-wasip3.toml is spin.toml with every
trigger on the `wasip3-unstable` executor and every component built with the `wasip3` feature
into its own target directory; routes, variables, databases and watched files are the same."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WASIP2 = tomllib.loads((ROOT / "spin.toml").read_text())
WASIP3 = tomllib.loads((ROOT / "spin-wasip3.toml").read_text())
EXECUTOR = {"type": "wasip3-unstable"}


def test_the_application_and_its_variables_are_the_same():
    assert WASIP3["application"]["name"] == WASIP2["application"]["name"]
    assert WASIP3["application"]["version"] == WASIP2["application"]["version"]
    assert WASIP3["variables"] == WASIP2["variables"]


def test_every_route_goes_to_the_same_component_on_the_wasip3_executor():
    wasip2 = [(t["route"], t["component"]) for t in WASIP2["trigger"]["http"]]
    wasip3 = [(t["route"], t["component"]) for t in WASIP3["trigger"]["http"]]
    assert wasip3 == wasip2
    assert all("executor" not in t for t in WASIP2["trigger"]["http"])
    assert all(t.get("executor") == EXECUTOR for t in WASIP3["trigger"]["http"])


def test_components_differ_only_in_their_build_and_artifact():
    assert WASIP3["component"].keys() == WASIP2["component"].keys()
    for name, wasip2 in WASIP2["component"].items():
        wasip3 = WASIP3["component"][name]
        same = {k: v for k, v in wasip2.items() if k not in ("source", "build")}
        assert {k: v for k, v in wasip3.items() if k not in ("source", "build")} == same, name
        assert wasip2["source"] == f"target/wasm32-wasip2/release/{name}.wasm"
        assert wasip3["source"] == f"target/wasip3/wasm32-wasip2/release/{name}.wasm"
        assert wasip3["build"]["command"] == wasip2["build"]["command"] + " --features wasip3 --target-dir target/wasip3"
        assert wasip3["build"]["watch"] == wasip2["build"]["watch"]
