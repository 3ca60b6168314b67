"""A small renderer for the subset of kustomize that k8s/ uses, so the manifests can be checked
offline without the kustomize binary: resources (files and directories), namespace, labels,
images (including SpinApp.spec.image, as k8s/base/kustomizeconfig.yaml declares) and JSON 6902
patches with a kind/name target. It fails loudly on anything else rather than guess."""

from __future__ import annotations

import copy
from pathlib import Path

import jsonpatch
import yaml

SUPPORTED_KEYS = {"apiVersion", "kind", "namespace", "labels", "resources", "configurations", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def load_yaml_documents(path: Path) -> list[dict]:
    with path.open() as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def render(directory: Path) -> list[dict]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED_KEYS
    if unknown:
        raise ValueError(f"{directory}: kustomization keys this renderer does not support: {sorted(unknown)}")

    objects: list[dict] = []
    for resource in kustomization.get("resources", []):
        target = (directory / resource).resolve()
        objects.extend(render(target) if target.is_dir() else load_yaml_documents(target))
    objects = copy.deepcopy(objects)

    namespace = kustomization.get("namespace")
    for obj in objects:
        if namespace and obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = namespace
        for label_set in kustomization.get("labels", []):
            obj["metadata"].setdefault("labels", {}).update(label_set["pairs"])

    for config in kustomization.get("configurations", []):
        for entry in yaml.safe_load((directory / config).read_text()).get("images", []):
            if entry != {"path": "spec/image", "kind": "SpinApp"}:
                raise ValueError(f"unsupported image configuration {entry}")
    for image in kustomization.get("images", []):
        for obj in objects:
            _set_images(obj, image)

    for patch in kustomization.get("patches", []):
        target = patch["target"]
        matches = [o for o in objects if o["kind"] == target["kind"] and o["metadata"]["name"] == target["name"]]
        if len(matches) != 1:
            raise ValueError(f"patch target {target} matched {len(matches)} objects")
        operations = yaml.safe_load(patch["patch"])
        patched = jsonpatch.apply_patch(matches[0], operations)
        objects[objects.index(matches[0])] = patched
    return objects


def _rewrite(reference: str, image: dict) -> str:
    name, _, tag = reference.partition(":")
    if name != image["name"]:
        return reference
    return f"{image.get('newName', name)}:{image.get('newTag', tag or 'latest')}"


def _set_images(obj: dict, image: dict) -> None:
    if obj["kind"] == "SpinApp":
        obj["spec"]["image"] = _rewrite(obj["spec"]["image"], image)
        return
    pod = obj.get("spec", {}).get("template", {}).get("spec", {})
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        container["image"] = _rewrite(container["image"], image)
