"""The containers the shim mode runs are the SpinApp of k8s/, as the operator would start it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "container.py"


def plan_of(variant: str, tmp_path: Path) -> dict:
    output = tmp_path / f"{variant}.json"
    subprocess.run(
        [sys.executable, LAUNCHER, "plan", variant, output, "--registry", "127.0.0.1:5000", "--ctr", "ctr",
         "--address", "/run/test.sock", "--namespace", "test"],
        check=True,
    )
    return json.loads(output.read_text())


def run_command(plan: Path, tmp_path: Path, *variables: str) -> subprocess.CompletedProcess:
    """`container.py run` with `echo` in place of ctr, so the command it would exec is printed."""
    document = json.loads(plan.read_text())
    document["ctr"] = ["/bin/echo"]
    plan.write_text(json.dumps(document))
    arguments = ["--name", "r1", "--listen", "127.0.0.1:3000", "--store", "127.0.0.1:8080", "--dir", tmp_path / "r1"]
    for variable in variables:
        arguments += ["--var", variable]
    return subprocess.run([sys.executable, LAUNCHER, "run", plan, *arguments], capture_output=True, text=True)


@pytest.mark.parametrize(("variant", "manifest", "tag"), [("base", "spin-wasip3.toml", "0.1.0"), ("wasip2", "spin.toml", "0.1.0-wasip2")])
def test_each_variant_runs_the_image_of_the_manifest_it_names(tmp_path, variant, manifest, tag):
    plan = plan_of(variant, tmp_path)
    assert plan["manifest"] == manifest
    assert plan["image"] == f"127.0.0.1:5000/chat-rooms:{tag}"


def test_the_store_url_names_the_libsql_service_and_is_pointed_at_the_tests_sqld(tmp_path):
    plan_of("base", tmp_path)
    result = run_command(tmp_path / "base.json", tmp_path, "jwt_secret=s")
    assert result.returncode == 0, result.stderr
    config = (tmp_path / "r1" / "runtime-config.toml").read_text()
    assert config.splitlines() == [
        "[sqlite_database.default]",
        'type = "libsql"',
        'url = "http://127.0.0.1:8080"',
        'token = "unused-by-an-open-sqld"',
    ]


def test_bind_mounts_name_absolute_sources_whatever_directory_is_given(tmp_path, monkeypatch):
    plan_of("base", tmp_path)
    monkeypatch.chdir(tmp_path)
    command = run_command(tmp_path / "base.json", Path("relative"), "jwt_secret=s").stdout
    sources = [part.split(",")[1].removeprefix("src=") for part in command.split() if part.startswith("type=bind")]
    assert sources and all(Path(source).is_absolute() for source in sources), sources


def test_the_ca_volume_is_bind_mounted_read_only_where_the_spinapp_mounts_it(tmp_path):
    plan_of("base", tmp_path)
    command = run_command(tmp_path / "base.json", tmp_path, "jwt_secret=s").stdout
    certificate = tmp_path / "r1" / "volume-0" / "ca-certificates.crt"
    assert certificate.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert f"type=bind,src={certificate.parent},dst=/etc/ssl/certs,options=rbind:ro" in command


def test_variables_become_spin_variables_and_only_the_spinapps_are_accepted(tmp_path):
    plan_of("base", tmp_path)
    command = run_command(tmp_path / "base.json", tmp_path, "jwt_secret=s", "jwt_issuer=i").stdout
    assert "--env SPIN_VARIABLE_JWT_SECRET=s --env SPIN_VARIABLE_JWT_ISSUER=i" in command
    assert "JWT_AUDIENCE" not in command
    assert "--env SPIN_VARIABLE_CORS_ALLOWED_ORIGINS= " in command  # the manifest's own value
    patched = run_command(tmp_path / "base.json", tmp_path, "jwt_secret=s", "cors_allowed_origins=https://a.example").stdout
    assert "--env SPIN_VARIABLE_CORS_ALLOWED_ORIGINS=https://a.example " in patched
    unknown = run_command(tmp_path / "base.json", tmp_path, "jwt_secret=s", "colour=blue")
    assert unknown.returncode != 0 and "colour" in unknown.stderr
    missing = run_command(tmp_path / "base.json", tmp_path)
    assert missing.returncode != 0 and "jwt_secret" in missing.stderr
