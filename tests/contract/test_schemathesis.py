"""schemathesis against the running app: every operation of docs/openapi.json, with --checks all,
bounded examples, a valid token. It runs against the test host's serve mode always and against
real `spin up` when Spin is found (SPIN_BIN, or `spin` on PATH); a missing runtime is skipped,
saying why. Checks that a truthful document cannot satisfy are switched off for their operation
only, in schemathesis.toml beside this file, each with its reason.
"""

import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SECRET = "contract-secret-contract-secret-contract"
MAX_EXAMPLES = os.environ.get("CONTRACT_MAX_EXAMPLES", "25")


def token(user: str) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"sub": user, "name": "Schemathesis", "exp": int(time.time()) + 3600}).encode())
    signature = hmac.new(SECRET.encode(), f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return f"{header}.{claims}.{b64(signature)}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def runtimes():
    host = ROOT / "target/debug/spin-test-host"
    spin = os.environ.get("SPIN_BIN") or shutil.which("spin")
    yield pytest.param(("host", [str(host), "serve"]), id="test-host")
    if spin:
        yield pytest.param(("spin", [spin, "up", "--from", str(ROOT / "spin.toml")]), id="spin-up")
    else:
        yield pytest.param(
            None, id="spin-up", marks=pytest.mark.skip(reason="no spin binary (set SPIN_BIN or put spin on PATH)")
        )


@pytest.fixture(params=list(runtimes()))
def app(request, tmp_path):
    name, command = request.param
    if name == "host" and not Path(command[0]).exists():
        pytest.fail(f"{command[0]} is missing: build it with cargo test (./scripts/test does)")
    port = free_port()
    env = {**os.environ, "SPIN_VARIABLE_JWT_SECRET": SECRET}
    log = open(tmp_path / f"{name}.log", "w")
    process = subprocess.Popen(
        command + ["--listen", f"127.0.0.1:{port}", "--state-dir", str(tmp_path / "state")],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/ready", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail(f"{name} did not start: {(tmp_path / f'{name}.log').read_text()[-2000:]}")
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_schemathesis_finds_nothing(app):
    schemathesis = shutil.which("schemathesis", path=str(Path(os.sys.executable).parent)) or "schemathesis"
    result = subprocess.run(
        [
            schemathesis,
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{app}/api/openapi.json",
            # Every check runs (schemathesis's default, as `--checks all`, which on the command
            # line would also override the per-operation exceptions in the config file).
            "--max-examples",
            MAX_EXAMPLES,
            "--header",
            f"Authorization: Bearer {token(str(uuid.uuid4()))}",
            "--seed",
            "1",
            "--no-color",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
