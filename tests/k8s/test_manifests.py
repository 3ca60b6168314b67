"""The SpinKube manifests, checked offline: core resources against the Kubernetes schemas, the
SpinApp against the SpinKube CRD, and the properties a reviewer would look for."""

from __future__ import annotations

import tomllib
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from kustomize import load_yaml_documents, render

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
SHARED_CRDS = ROOT.parent / "shared" / "spinkube"
KUBERNETES_VERSION = "1.31"
VARIANTS = {"base": K8S / "base", "local": K8S / "overlays" / "local", "wasip2": K8S / "overlays" / "wasip2"}
MANIFEST_ANNOTATION = "chat-rooms.dev/spin-manifest"


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request):
    return request.param, render(VARIANTS[request.param])


def one(objects, kind, name=None):
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def spin_manifest(name="spin-wasip3.toml"):
    return tomllib.loads((ROOT / name).read_text())


def deployed_manifest(objects):
    """The Spin manifest the SpinApp's image is pushed from."""
    return spin_manifest(one(objects, "SpinApp")["metadata"]["annotations"][MANIFEST_ANNOTATION])


def test_core_resources_match_the_kubernetes_schemas(variant):
    _, objects = variant
    core = [o for o in objects if o["kind"] != "SpinApp"]
    assert core
    for obj in core:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_example_secrets_match_the_kubernetes_schemas():
    secrets = load_yaml_documents(K8S / "examples" / "secrets.example.yaml")
    assert {s["metadata"]["name"] for s in secrets} == {"chat-rooms-auth", "chat-rooms-libsql"}
    for secret in secrets:
        kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)


def test_the_spinapp_matches_the_spinkube_crd(variant):
    crd_file = SHARED_CRDS / "core.spinkube.dev_spinapps.yaml"
    if not crd_file.exists():
        pytest.skip(f"SpinKube CRDs not found at {SHARED_CRDS} (only present beside the team's checkout)")
    crd = yaml.safe_load(crd_file.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")
    _, objects = variant
    spinapp = one(objects, "SpinApp")
    assert spinapp["apiVersion"] == f"{crd['spec']['group']}/v1alpha1"
    jsonschema.validate(spinapp, version["schema"]["openAPIV3Schema"])


def test_three_replicas_on_the_shim_with_limits(variant):
    _, objects = variant
    spec = one(objects, "SpinApp", "chat-rooms")["spec"]
    assert spec["replicas"] == 3
    assert spec["executor"] == "containerd-shim-spin"
    assert set(spec["resources"]["limits"]) >= {"cpu", "memory"}
    assert set(spec["resources"]["requests"]) >= {"cpu", "memory"}
    assert ":" in spec["image"] and not spec["image"].endswith(":latest")


def test_probes_use_the_paths_the_app_serves(variant):
    _, objects = variant
    checks = one(objects, "SpinApp")["spec"]["checks"]
    assert checks["liveness"]["httpGet"]["path"] == "/health"
    assert checks["readiness"]["httpGet"]["path"] == "/ready"
    routes = {t["route"] for t in spin_manifest()["trigger"]["http"]}
    assert {"/health", "/ready"} <= routes


def test_every_required_variable_is_provided_from_a_secret(variant):
    _, objects = variant
    provided = {v["name"]: v for v in one(objects, "SpinApp")["spec"]["variables"]}
    declared = deployed_manifest(objects)["variables"]
    required = {name for name, spec in declared.items() if spec.get("required") or "default" not in spec}
    assert required == {"jwt_secret"}
    assert required <= set(provided)
    assert set(provided) <= set(declared), "only variables spin.toml declares"
    for name in required:
        assert "secretKeyRef" in provided[name]["valueFrom"], f"{name} must come from a Secret"
    assert declared["jwt_secret"].get("secret") is True


def test_every_variable_of_the_app_is_set_and_the_readmes_cors_patch_reaches_its_value(variant):
    _, objects = variant
    variables = one(objects, "SpinApp")["spec"]["variables"]
    assert {v["name"] for v in variables} == set(deployed_manifest(objects)["variables"])
    # k8s/README.md patches /spec/variables/3/value in its overlay example.
    assert variables[3] == {"name": "cors_allowed_origins", "value": ""}


def test_the_runtime_config_points_the_apps_database_at_libsql(variant):
    _, objects = variant
    databases = one(objects, "SpinApp")["spec"]["runtimeConfig"]["sqliteDatabases"]
    labels = {label for c in deployed_manifest(objects)["component"].values() for label in c.get("sqlite_databases", [])}
    assert {d["name"] for d in databases} == labels == {"default"}
    default = databases[0]
    assert default["type"] == "libsql"
    options = {o["name"]: o for o in default["options"]}
    assert options["url"]["value"].startswith(("http://", "https://")), "Spin rejects libsql:// URLs"
    assert "secretKeyRef" in options["token"]["valueFrom"], "the token comes from a Secret"
    service = one(objects, "Service", "chat-rooms-libsql")
    host_port = options["url"]["value"].split("://", 1)[1]
    assert host_port == f"{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"


def test_the_libsql_server_is_persistent_probed_limited_and_authenticated(variant):
    name, objects = variant
    statefulset = one(objects, "StatefulSet", "chat-rooms-libsql")
    assert statefulset["spec"]["replicas"] == 1
    assert statefulset["spec"]["volumeClaimTemplates"]
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("ghcr.io/tursodatabase/libsql-server:")
    assert container["readinessProbe"] and container["livenessProbe"]
    assert set(container["resources"]["limits"]) >= {"cpu", "memory"}
    env = {e["name"]: e for e in container["env"]}
    assert "secretKeyRef" in env["SQLD_AUTH_JWT_KEY"]["valueFrom"], "auth enabled"
    mount = container["volumeMounts"][0]["mountPath"]
    assert env["SQLD_DB_PATH"]["value"].startswith(mount + "/"), "data on the volume"


def test_the_libsql_server_admits_the_connections_of_three_replicas(variant):
    _, objects = variant
    container = one(objects, "StatefulSet", "chat-rooms-libsql")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    for limit in ("SQLD_MAX_CONCURRENT_CONNECTIONS", "SQLD_MAX_CONCURRENT_REQUESTS"):
        assert int(env[limit]) >= 512, f"{limit} above sqld's default of 128"


def test_only_the_apps_pods_reach_the_store(variant):
    _, objects = variant
    policy = one(objects, "NetworkPolicy", "chat-rooms-libsql")
    statefulset = one(objects, "StatefulSet", "chat-rooms-libsql")
    pod_labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    (rule,) = policy["spec"]["ingress"]
    (source,) = rule["from"]
    app_labels = one(objects, "SpinApp")["spec"]["podLabels"]
    assert source["podSelector"]["matchLabels"].items() <= app_labels.items()
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]


def test_the_ingress_routes_to_the_operators_service(variant):
    _, objects = variant
    ingress = one(objects, "Ingress", "chat-rooms")
    spinapp = one(objects, "SpinApp")
    assert ingress["spec"]["ingressClassName"]
    assert ingress["spec"]["tls"][0]["secretName"]
    paths = {p["path"]: p["backend"]["service"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert set(paths) == {"/api", "/health", "/ready"}
    for backend in paths.values():
        assert backend == {"name": spinapp["metadata"]["name"], "port": {"number": 80}}
    annotations = ingress["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/limit-rps"]) > 0
    assert "limit_req_status 429" in annotations["nginx.ingress.kubernetes.io/configuration-snippet"]
    assert "Retry-After" in annotations["nginx.ingress.kubernetes.io/configuration-snippet"]


LONGEST_WAIT_SECONDS = 30  # the contract's longest `wait`


def test_the_ingress_waits_longer_than_the_longest_long_poll(variant):
    _, objects = variant
    annotations = one(objects, "Ingress", "chat-rooms")["metadata"]["annotations"]
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{timeout}"]) >= LONGEST_WAIT_SECONDS + 10
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"


def test_a_disruption_budget_keeps_two_replicas(variant):
    _, objects = variant
    pdb = one(objects, "PodDisruptionBudget", "chat-rooms")
    assert pdb["spec"]["minAvailable"] == 2
    pod_labels = one(objects, "SpinApp")["spec"]["podLabels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_everything_lands_in_one_namespace(variant):
    _, objects = variant
    namespaces = {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"}
    assert namespaces == {one(objects, "Namespace")["metadata"]["name"]}


def test_the_local_overlay_relaxes_limits_and_uses_a_local_image():
    base = render(VARIANTS["base"])
    local = render(VARIANTS["local"])
    assert one(local, "SpinApp")["spec"]["image"].startswith("localhost:5000/")
    assert one(local, "StatefulSet")["spec"]["replicas"] == 1
    assert one(local, "SpinApp")["spec"]["resources"] != one(base, "SpinApp")["spec"]["resources"]
    assert "cert-manager.io/cluster-issuer" not in one(local, "Ingress")["metadata"]["annotations"]


def test_the_libsql_client_finds_a_ca_bundle_in_the_container(variant):
    _, objects = variant
    spec = one(objects, "SpinApp")["spec"]
    mount = next(m for m in spec["volumeMounts"] if m["mountPath"] == "/etc/ssl/certs")
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    assert mount.get("readOnly") is True
    assert {"key": "ca.crt", "path": "ca-certificates.crt"} in volume["configMap"]["items"]
    assert volume["configMap"]["name"] == "kube-root-ca.crt"


def test_the_base_deploys_the_wasip3_flavor_the_shims_spin_runs():
    spinapp = one(render(VARIANTS["base"]), "SpinApp")
    assert spinapp["metadata"]["annotations"][MANIFEST_ANNOTATION] == "spin-wasip3.toml"
    triggers = spin_manifest("spin-wasip3.toml")["trigger"]["http"]
    assert all(t.get("executor") == {"type": "wasip3-unstable"} for t in triggers)


def test_the_wasip2_overlay_deploys_the_portable_flavor_under_its_own_tag():
    base = one(render(VARIANTS["base"]), "SpinApp")
    wasip2 = one(render(VARIANTS["wasip2"]), "SpinApp")
    assert wasip2["metadata"]["annotations"][MANIFEST_ANNOTATION] == "spin.toml"
    assert wasip2["spec"]["image"] == base["spec"]["image"] + "-wasip2"
    assert {k: v for k, v in wasip2["spec"].items() if k != "image"} == {
        k: v for k, v in base["spec"].items() if k != "image"
    }


def test_no_real_secrets_are_committed():
    for path in K8S.rglob("*.yaml"):
        for doc in load_yaml_documents(path):
            if doc.get("kind") == "Secret":
                assert path.name.endswith(".example.yaml"), f"{path} holds a Secret"
                for value in doc.get("stringData", {}).values():
                    assert value == "" or value.startswith("REPLACE-"), f"{path}: a real-looking value"
