"""The app's SpinApp run as SpinKube's node runs it: one container per replica, started by `ctr run`
with containerd-shim-spin, configured from the rendered k8s/ manifests themselves (so the tests and
the manifests cannot drift):

- the runtime config is the SpinApp's `runtimeConfig`, written to `/runtime-config.toml` as the
  operator does, its store URL checked to name the libSQL Service and pointed at the test's sqld;
- the Spin variables are the SpinApp's `variables`, as `SPIN_VARIABLE_*` environment: the
  manifest's value, or the test's (it plays the Secrets they reference and the overlays that
  patch a value); a variable the SpinApp does not declare is refused;
- every `volumeMounts` entry becomes a bind mount of the ConfigMap it names, played by a file
  in this directory (`kube-root-ca.crt`: one certificate, as a cluster's own).

    container.py plan VARIANT PLAN.json --registry HOST:PORT --ctr CTR --address SOCKET --namespace NS
        renders k8s/VARIANT (base, or an overlay name) and writes what `run` needs
    container.py run PLAN.json --name NAME --listen ADDRESS --store ADDRESS --dir DIR [--var NAME=VALUE]...
        writes the container's files under DIR and becomes `ctr run` (SIGTERM stops the container)
    container.py remove PLAN.json --name NAME
        kills and deletes the container, whatever state it is in
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tests" / "k8s"))

# The ConfigMaps a cluster gives every namespace, as the tests play them.
CONFIG_MAPS = {"kube-root-ca.crt": {"ca.crt": HERE / "kube-root-ca.crt"}}
# sqld in the tests runs without an auth key and takes any token; Spin requires one.
STORE_TOKEN = "unused-by-an-open-sqld"
STORE_PLACEHOLDER = "{store}"


def variant_directory(variant: str) -> Path:
    return ROOT / "k8s" / ("base" if variant == "base" else f"overlays/{variant}")


def one(objects: list[dict], kind: str) -> dict:
    found = [o for o in objects if o["kind"] == kind]
    if len(found) != 1:
        raise SystemExit(f"expected one {kind} in the rendered manifests, found {len(found)}")
    return found[0]


def store_url_template(objects: list[dict], url: str) -> str:
    """The SpinApp's store URL with the libSQL Service's host:port replaced by a placeholder, after
    checking that it names that Service and one of its ports."""
    parts = urlsplit(url)
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    service = services.get(parts.hostname or "")
    if service is None:
        raise SystemExit(f"the store URL {url} names no Service of the manifests ({sorted(services)})")
    if parts.port not in [port["port"] for port in service["spec"]["ports"]]:
        raise SystemExit(f"the store URL {url} names no port of the Service {parts.hostname}")
    return parts._replace(netloc=STORE_PLACEHOLDER).geturl()


def runtime_config(objects: list[dict], spec: dict) -> list[dict]:
    """The SpinApp's sqliteDatabases as the operator writes them to runtime-config.toml."""
    databases = []
    for database in spec.get("runtimeConfig", {}).get("sqliteDatabases", []):
        options = {}
        for option in database.get("options", []):
            if "value" in option:
                value = option["value"]
            elif "secretKeyRef" in option.get("valueFrom", {}):
                value = STORE_TOKEN if option["name"] == "token" else None
            else:
                value = None
            if value is None:
                raise SystemExit(f"the tests cannot play the option {option}")
            options[option["name"]] = value
        if "url" in options:
            options["url"] = store_url_template(objects, options["url"])
        databases.append({"name": database["name"], "type": database["type"], "options": options})
    return databases


def variables(spec: dict) -> list[dict]:
    """Each Spin variable: a literal value, or one the test supplies (a Secret in the cluster)."""
    result = []
    for variable in spec.get("variables", []):
        if "value" in variable:
            result.append({"name": variable["name"], "value": variable["value"]})
        else:
            reference = variable["valueFrom"]["secretKeyRef"]
            result.append({"name": variable["name"], "optional": reference.get("optional", False)})
    return result


def mounts(spec: dict) -> list[dict]:
    volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
    result = []
    for mount in spec.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        config_map = volume.get("configMap")
        if config_map is None or config_map["name"] not in CONFIG_MAPS:
            raise SystemExit(f"the tests cannot play the volume {volume}")
        data = CONFIG_MAPS[config_map["name"]]
        items = config_map.get("items") or [{"key": key, "path": key} for key in data]
        files = {item["path"]: str(data[item["key"]]) for item in items}
        result.append({"path": mount["mountPath"], "read_only": mount.get("readOnly", False), "files": files})
    return result


def plan(args: argparse.Namespace) -> None:
    from kustomize import render

    objects = render(variant_directory(args.variant))
    spinapp = one(objects, "SpinApp")
    spec = spinapp["spec"]
    if spec.get("executor") != "containerd-shim-spin":
        raise SystemExit(f"the SpinApp's executor is {spec.get('executor')}, not containerd-shim-spin")
    repository_and_tag = spec["image"].rsplit("/", 1)[-1]
    document = {
        "variant": args.variant,
        "manifest": spinapp["metadata"]["annotations"]["chat-rooms.dev/spin-manifest"],
        "image": f"{args.registry}/{repository_and_tag}",
        "launcher": [sys.executable, str(Path(__file__).resolve())],
        "ctr": [args.ctr, "--address", args.address, "--namespace", args.namespace],
        "runtime_config": runtime_config(objects, spec),
        "variables": variables(spec),
        "mounts": mounts(spec),
    }
    Path(args.output).write_text(json.dumps(document, indent=2) + "\n")


def toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def run(args: argparse.Namespace) -> None:
    document = json.loads(Path(args.plan).read_text())
    directory = Path(args.dir).resolve()  # bind mounts need absolute sources
    directory.mkdir(parents=True, exist_ok=True)

    config = []
    for database in document["runtime_config"]:
        config.append(f"[sqlite_database.{database['name']}]")
        config.append(f"type = {toml_string(database['type'])}")
        for name, value in database["options"].items():
            config.append(f"{name} = {toml_string(value.replace(STORE_PLACEHOLDER, args.store))}")
    runtime_config_file = directory / "runtime-config.toml"
    runtime_config_file.write_text("\n".join(config) + "\n")
    binds = [(runtime_config_file, "/runtime-config.toml", True)]

    for index, mount in enumerate(document["mounts"]):
        volume = directory / f"volume-{index}"
        volume.mkdir(exist_ok=True)
        for name, source in mount["files"].items():
            (volume / name).write_bytes(Path(source).read_bytes())
        binds.append((volume, mount["path"], mount["read_only"]))

    given = dict(pair.split("=", 1) for pair in args.var)
    environment = [f"SPIN_HTTP_LISTEN_ADDR={args.listen}"]
    for variable in document["variables"]:
        # The test's value wins, as an overlay's patch or the referenced Secret would.
        value = given.pop(variable["name"], variable.get("value"))
        if value is None and not variable["optional"]:
            raise SystemExit(f"the SpinApp's variable {variable['name']} needs a value (--var)")
        if value is not None:
            environment.append(f"SPIN_VARIABLE_{variable['name'].upper()}={value}")
    if given:
        raise SystemExit(f"variables the SpinApp does not set: {sorted(given)}")

    command = [*document["ctr"], "run", "--rm", "--net-host", "--runtime", "io.containerd.spin.v2"]
    for entry in environment:
        command += ["--env", entry]
    for source, destination, read_only in binds:
        options = "rbind:ro" if read_only else "rbind:rw"
        command += ["--mount", f"type=bind,src={source},dst={destination},options={options}"]
    # The trailing "/" is the container's command, which the shim requires and ignores.
    command += [document["image"], args.name, "/"]
    os.execv(command[0], command)


def remove(args: argparse.Namespace) -> None:
    ctr = json.loads(Path(args.plan).read_text())["ctr"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([*ctr, "task", "kill", "--signal", "SIGKILL", args.name], **quiet)
    subprocess.run([*ctr, "task", "delete", "--force", args.name], **quiet)
    subprocess.run([*ctr, "container", "delete", args.name], **quiet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("plan")
    p.add_argument("variant")
    p.add_argument("output")
    for option in ("--registry", "--ctr", "--address", "--namespace"):
        p.add_argument(option, required=True)
    r = commands.add_parser("run")
    r.add_argument("plan")
    for option in ("--name", "--listen", "--store", "--dir"):
        r.add_argument(option, required=True)
    r.add_argument("--var", action="append", default=[])
    d = commands.add_parser("remove")
    d.add_argument("plan")
    d.add_argument("--name", required=True)
    args = parser.parse_args()
    {"plan": plan, "run": run, "remove": remove}[args.command](args)


if __name__ == "__main__":
    main()
