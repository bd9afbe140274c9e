"""Every rule id mlgitops can report, with its default severity and what it catches: one place.

A finding (`diagnostics.Diagnostic`) carries a rule id such as `spec.replicas`; this module is
the catalogue of those ids: the rule summary of docs/cli.md, docs/rules.md (`python -m mlgitops.readme
--rules`), the `mlgitops rules` listing and the SARIF rule metadata of every report are generated
from it. Two kinds of entries:
- a spec rule is one unit (yamllint's one module per rule): its `Rule` (id, severity, description)
  and its check function in one module of rules/, registered in rules/__init__.py; the schema
  checker's two rules live beside it in spec/model.py. They are gathered here, not repeated.
- the ids the engines report while they work (reading, rendering, validating, policies: a rule id
  where the problem is found, not a check of its own) are data below (kube-linter's
  checks-as-data).

`tests/test_catalogue.py` reads the package's source and fails when a rule id is emitted
anywhere without an entry here, or when an entry is emitted nowhere (except families such as
`policy.<name>`, whose ids are made at run time).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from .diagnostics import ERROR, INFO, WARNING, Rule
from .rules import FILE_RULES, MODEL_RULES
from .spec.model import SCHEMA_RULES


# family -> what its rules are about, in the order docs/rules.md lists them
FAMILIES: dict[str, str] = {
    "yaml": "YAML syntax of any input file.",
    "input": "Reading inputs: paths, file types, sizes, encodings, YAML bombs; and objects that are not Kubernetes objects.",
    "config": "The repository config, mlgitops.yaml.",
    "spec": "Model files, models/*.yaml: what the JSON Schema catches, and the checks a schema cannot express (compiler/mlgitops/rules/).",
    "build": "`mlgitops build` and `build --check`: writing and checking the generated tree.",
    "render": "Rendering a kustomization (`mlgitops render`, and `validate`/`policy check` of overlays).",
    "schema": "`mlgitops validate`: rendered objects against their JSON schemas.",
    "reference": "`mlgitops validate`: references between the objects of one overlay.",
    "validate": "`mlgitops validate` as a whole.",
    "engine": "`mlgitops validate --engine both`: the built-in validator and kubeconform compared.",
    "kubeconform": "`mlgitops validate --engine kubeconform`.",
    "crd": "`mlgitops schemas import`: CustomResourceDefinition files.",
    "policy": "`mlgitops policy check` and `policy test`: ValidatingAdmissionPolicies over the rendered objects.",
    "slo": "The generated SLO rules: metric collection (checked at every build) and `mlgitops slo test`, the alerts proven with promtool.",
    "cluster": "`mlgitops status`: reading the models' Rollouts from a cluster.",
    "usage": "Usage errors: a wrong option or argument (exit code 2).",
}


def _rules(*entries: Rule) -> dict[str, Rule]:
    found: dict[str, Rule] = {}
    for entry in entries:
        if found.setdefault(entry.id, entry) != entry:
            raise ValueError(f"rule {entry.id} is described twice, differently")
    return found


R = Rule
RULES: dict[str, Rule] = _rules(
    # --- yaml ---------------------------------------------------------------------------------
    R("yaml.syntax", ERROR, "A file is not valid YAML."),
    R("yaml.duplicate-key", ERROR, "A mapping gives the same key twice.",
      "PyYAML would silently keep the last value; mlgitops refuses the file instead."),
    # --- input --------------------------------------------------------------------------------
    R("input.outside-repo", ERROR, "A path or symbolic link leads outside the repository."),
    R("input.not-regular-file", ERROR, "An input is a FIFO, a device, a directory or a symbolic link loop."),
    R("input.too-large", ERROR, "An input file is over its size limit.",
      "Limits are set under `limits:` in mlgitops.yaml (model files 1 MiB, policy and policy test files "
      "4 MiB, resources 32 MiB by default)."),
    R("input.encoding", ERROR, "An input file is not UTF-8, or holds a NUL byte."),
    R("input.unreadable", ERROR, "An input file could not be read (permissions, I/O error)."),
    R("input.alias-bomb", ERROR, "YAML aliases expand past the budget, or an alias refers to itself."),
    R("input.too-deep", ERROR, "YAML nested deeper than 200 levels."),
    R("input.remote-schema", ERROR, "A schema location in mlgitops.yaml is a URL.",
      "Remote schema locations are accepted on the command line only, so a pull request cannot make CI "
      "fetch from a server of its choice."),
    R("input.not-found", ERROR, "A path given to `validate` or `policy check` does not exist."),
    R("input.component", ERROR, "A path names a kustomize Component, which cannot be rendered on its own."),
    R("input.not-object", ERROR, "A YAML document is not a Kubernetes object (a mapping with apiVersion and kind)."),
    R("input.no-kind", ERROR, "An object has no kind."),
    R("input.no-api-version", ERROR, "An object has no apiVersion."),
    R("input.bad-field", ERROR, "An object's apiVersion, kind or metadata has the wrong type."),
    # --- config -------------------------------------------------------------------------------
    R("config.missing", ERROR, "The repository has no mlgitops.yaml."),
    R("config.schema", ERROR, "A value in mlgitops.yaml has the wrong type or is out of range."),
    R("config.unknown-field", ERROR, "mlgitops.yaml has a field mlgitops does not know (with a suggestion)."),
    R("config.kserve-version", ERROR, "kserve.version names a KServe release mlgitops refuses (0.13 or older).",
      "KServe 0.13 and older reset the predictor Deployment to one replica on every change, so a canary leaks."),
    R("config.unknown-storage-endpoint", ERROR, "A cluster's overrides.storageEndpoint names no endpoint of "
      "storage.endpoints."),
    R("config.credential-value", ERROR, "A value in mlgitops.yaml is a credential: a well-known default such as "
      "minioadmin, an AWS access key id, a token or private key, or a URL with user:password@ (rules/credential_value.py)."),
    R("config.burn-rate-alerts", ERROR, "A burn-rate alert's short window is not shorter than its long window."),
    # --- spec ---------------------------------------------------------------------------------
    # (its rules live with the code that reports them: spec/model.py, rules/; gathered below)
    # --- build --------------------------------------------------------------------------------
    R("build.empty", ERROR, "No model files to build (or none selected)."),
    R("build.stale", ERROR, "`build --check`: a generated file differs from what the build would write."),
    R("build.missing", ERROR, "`build --check`: a generated file is missing."),
    R("build.extra", ERROR, "`build --check`: a generated file whose model is gone."),
    R("build.not-generated", ERROR, "A hand-written file (no mlgitops header) where a generated one would go."),
    R("build.locked", ERROR, "Another build held .mlgitops/build.lock for too long."),
    R("build.leftover", ERROR, "Leftovers of an interrupted build.",
      "An error with --check, one per leftover (never commit them); a warning when a build cleans them "
      "up (the first ten by name, the rest counted in one)."),
    R("build.write-failed", ERROR, "The disk refused a write; nothing was changed."),
    R("build.not-a-directory", ERROR, "A file stands where an output directory must be."),
    R("build.object-too-large", ERROR, "A generated object is over Argo CD's 256 KiB last-applied-configuration limit."),
    R("build.git", ERROR, "`build --commit`: git failed."),
    R("build.index-dirty", ERROR, "`build --commit`: the git index already holds staged changes."),
    # --- render -------------------------------------------------------------------------------
    R("render.kustomize", ERROR, "`render --engine kustomize`: kustomize failed."),
    R("render.invalid-kustomization", ERROR, "A kustomization.yaml is malformed."),
    R("render.missing-file", ERROR, "A kustomization refers to a file that does not exist."),
    R("render.missing-kustomization", ERROR, "A directory used as a base or component has no kustomization."),
    R("render.cycle", ERROR, "Kustomizations include each other in a cycle."),
    R("render.outside-repo", ERROR, "A kustomization refers to a path outside the repository."),
    R("render.load-restrictor", ERROR, "A kustomization loads a file from outside its own directory tree."),
    R("render.invalid-resource", ERROR, "A resource file holds something that is not a Kubernetes object."),
    R("render.id-conflict", ERROR, "Two resources with the same kind, namespace and name."),
    R("render.patch", ERROR, "A patch is malformed or matches no resource."),
    R("render.transform", ERROR, "A transformer (labels, images, replicas, ...) cannot be applied."),
    R("render.generator", ERROR, "A ConfigMap or Secret generator is malformed."),
    R("render.name-reference", ERROR, "A renamed object's references cannot be updated."),
    R("render.invalid-configuration", ERROR, "A kustomize transformer configuration (configurations:) is malformed."),
    R("render.not-supported", ERROR, "A kustomize feature the built-in engine does not implement.",
      "Render with the real kustomize: --engine kustomize."),
    # --- schema -------------------------------------------------------------------------------
    R("schema", ERROR, "An object its JSON schema rejects."),
    R("schema.missing", WARNING, "No schema found for a kind.",
      "An error with --strict-schemas (the default when CI=true, or validation.strictSchemas)."),
    R("schema.checksum", ERROR, "A schema in schemas/ changed since schemas.lock pinned it."),
    R("schema.unpinned", WARNING, "A schema in schemas/ that schemas.lock does not list."),
    R("schema.fetch", ERROR, "A schema could not be read or fetched."),
    R("schema.invalid-json", ERROR, "A schema file is not a JSON object."),
    R("schema.invalid", ERROR, "A schema is not a valid JSON Schema."),
    R("schema.not-found", ERROR, "`schemas pull`: no schema for a kind at the location."),
    # --- reference ----------------------------------------------------------------------------
    R("reference.workload", ERROR, "A Rollout's workloadRef names no Deployment the overlay (or KServe) provides.",
      "A warning when the InferenceService's deployment mode cannot be told."),
    R("reference.analysis-template", ERROR, "A Rollout names an AnalysisTemplate that does not exist.",
      "A warning when the template is cluster-scoped or may exist in the cluster."),
    R("reference.analysis-args", ERROR, "A Rollout's analysis does not pass an argument its template needs."),
    R("reference.scale-target", ERROR, "An HPA scales an object the overlay does not hold.",
      "A warning when the target may exist in the cluster."),
    R("reference.selector", ERROR, "A selector (PDB, Service, topology spread) matches no pod of the overlay.",
      "A warning when it cannot be checked offline."),
    R("reference.service", ERROR, "A VirtualService or Rollout names a Service that does not exist."),
    # --- validate, engine, kubeconform --------------------------------------------------------
    R("validate.empty", ERROR, "No Kubernetes objects found: nothing was validated."),
    R("validate.all-skipped", ERROR, "Every object was skipped: none was validated."),
    R("engine.disagree", ERROR, "The built-in validator and kubeconform disagree about an object."),
    R("kubeconform.error", ERROR, "kubeconform failed on an object in a way mlgitops cannot classify."),
    # --- crd ----------------------------------------------------------------------------------
    R("crd.read", ERROR, "A CRD file could not be read."),
    R("crd.not-a-crd", ERROR, "A file holds no CustomResourceDefinition."),
    R("crd.api-version", ERROR, "A CRD's apiVersion is not apiextensions.k8s.io/v1."),
    R("crd.invalid", ERROR, "A CRD lacks spec.group, spec.names.kind or spec.versions."),
    R("crd.no-schema", ERROR, "A served CRD version has no openAPIV3Schema."),
    R("crd.conflict", ERROR, "Two CRDs produce the same schema file with different content."),
    # --- policy -------------------------------------------------------------------------------
    R("policy.<name>", ERROR, "A violation of the policy <name> (a ValidatingAdmissionPolicy in policies/).",
      "The severity comes from the binding's validationActions: Deny error, Warn warning, Audit info. "
      "SARIF reports describe the rule with the policy's own validation messages."),
    R("policy.waived", INFO, "A policy violation waived by the model."),
    R("policy.waiver-expired", ERROR, "A model's policy waiver is past its expiry date."),
    R("policy.waiver-unknown", ERROR, "A model waives a policy that does not exist."),
    R("policy.waiver-invalid", ERROR, "A malformed policy waiver in a model file."),
    R("policy.waiver-label", ERROR, "An object carries a waiver label no waiver of its model backs."),
    R("policy.syntax", ERROR, "A CEL expression of a policy does not parse or type-check.",
      "Also what the API server refuses when the policy is created (e.g. a validation that is not "
      "exactly bool, cel.bind, an undeclared variable)."),
    R("policy.type-check", WARNING, "The API server's type checker finds an error in a policy expression for a "
      "kind it matches (an undefined field, no matching overload).",
      "kube-controller-manager reports it in the policy's status.typeChecking; the policy still installs, "
      "but the expression fails or never holds for that kind."),
    R("policy.cost", ERROR, "A CEL expression's estimated cost is above Kubernetes' per-expression limit."),
    R("policy.cost-exceeded", ERROR, "Evaluating a policy on an object went over the runtime cost budget.",
      "The API server would refuse the object as well."),
    R("policy.eval-error", ERROR, "A CEL expression failed to evaluate on an object.",
      "With failurePolicy: Ignore at most a warning."),
    R("policy.params-missing", ERROR, "The parameter object a policy binding names was not found."),
    R("policy.invalid", ERROR, "A malformed ValidatingAdmissionPolicy or binding."),
    R("policy.unscoped-binding", ERROR, "A policy binding that does not select only the objects mlgitops manages."),
    R("policy.unsupported", ERROR, "A policy uses a Kubernetes feature that cannot run offline."),
    R("policy.no-objects", ERROR, "No Kubernetes objects found: no policy was evaluated."),
    R("policy.no-policies", ERROR, "The policy directory holds no ValidatingAdmissionPolicy."),
    R("policy.test-failed", ERROR, "A policy test case did not get its expected outcome."),
    R("policy.untested", ERROR, "A policy lacks a passing or a failing test case."),
    R("policy.test-invalid", ERROR, "A malformed policy test file or case."),
    R("policy.test-unknown", ERROR, "A policy test file names a policy that does not exist."),
    # --- slo ----------------------------------------------------------------------------------
    R("slo.scenario-failed", ERROR, "A generated burn-rate rule did not behave as promised under synthetic traffic."),
    R("slo.scenario-skipped", INFO, "An SLO scenario could not be synthesised (custom PromQL source)."),
    R("slo.uncollected-metric", ERROR,
      "A generated rule, analysis query or dashboard reads a metric that no generated monitor and no platform scrape "
      "declared in mlgitops.yaml collects (or reads a raw metric without selecting its scrape's job).",
      "Checked at every build (slo/collection.py): an SLO over a metric nobody scrapes records nothing and its "
      "alerts stay silent. Declare the cluster's own scrape in mlgitops.yaml (`monitoring.meshScrape`, "
      "`kubeStateMetrics`, `rolloutsMetrics`, `scrapes`) or let mlgitops generate the monitor."),
    # --- cluster ------------------------------------------------------------------------------
    R("cluster.unreadable", ERROR, "kubectl could not read an environment's namespace (context, credentials, "
      "network, or the Argo Rollouts and KServe CRDs missing there)."),
    R("cluster.not-deployed", WARNING, "A model named on the command line has no Rollout or InferenceService in the "
      "namespaces read."),
    # --- usage --------------------------------------------------------------------------------
    R("usage.kubectl-missing", ERROR, "`mlgitops status`: kubectl was not found."),
    R("usage.unknown-model", ERROR, "--model or --env names nothing in the repository."),
    R("usage.unknown-environment", ERROR, "--env names an environment mlgitops.yaml does not define."),
    R("usage.unknown-slo", ERROR, "`slo test --slo` names an SLO that no selected model environment has."),
    R("usage.promtool-missing", ERROR, "promtool was not found."),
    R("usage.kustomize-missing", ERROR, "`render --engine kustomize`: neither kubectl nor kustomize was found."),
    R("usage.policies", ERROR, "The policy directory does not exist."),
    R("usage.schema-location", ERROR, "A --schema-location is malformed."),
    R("usage.kubeconform", ERROR, "kubeconform is missing or failed to run."),
    R("usage.template", ERROR, "`schemas pull`: a malformed location template."),
    R("usage.resource", ERROR, "`schemas pull`: a malformed GROUP/VERSION/KIND argument."),
    R("usage.today", ERROR, "MLGITOPS_TODAY is not a date (YYYY-MM-DD)."),
    R("usage.git", ERROR, "git failed, or a revision does not exist."),
    R("usage.not-git", ERROR, "`--commit` outside a git repository."),
    # --- spec: the rules' own entries (rules/, spec/model.py) ------------------------------------
    *SCHEMA_RULES,
    *(entry for unit in FILE_RULES for entry in unit.rules),
    *(entry for unit in MODEL_RULES for entry in unit.rules),
)
del R

def rule(rule_id: str) -> Rule:
    """The entry of `rule_id`: its own, else the family pattern it belongs to (`policy.<name>`).
    KeyError for an id the catalogue does not know."""
    if rule_id in RULES:
        return RULES[rule_id]
    for entry in RULES.values():
        if entry.pattern and entry.matches(rule_id):
            return entry
    raise KeyError(rule_id)


def describe(rule_id: str) -> str:
    """The one-line description of `rule_id` (a family's, with the name filled in); the id itself when
    the catalogue does not know it."""
    try:
        entry = rule(rule_id)
    except KeyError:
        return rule_id
    if entry.pattern:
        name = rule_id[len(entry.id.split("<", 1)[0]):]
        return entry.summary.replace(entry.id[entry.id.index("<"):entry.id.index(">") + 1], name)
    return entry.summary


def descriptions(rule_ids: Iterable[str]) -> dict[str, str]:
    """{rule id: one-line description} of `rule_ids`."""
    return {rule_id: describe(rule_id) for rule_id in rule_ids}


# --- listings -------------------------------------------------------------------------------------

def ordered() -> list[Rule]:
    """Every entry, grouped by family in FAMILIES order, ids sorted within a family."""
    rank = {family: i for i, family in enumerate(FAMILIES)}
    return sorted(RULES.values(), key=lambda r: (rank.get(r.family, len(rank)), r.id))


def as_json() -> list[dict[str, Any]]:
    return [{"id": r.id, "family": r.family, "severity": r.severity, "summary": r.summary, "help": r.help,
             "pattern": r.pattern} for r in ordered()]


def listing(fmt: str = "text") -> str:
    """What `mlgitops rules` prints: a table of id, default severity and description (`text`), or a
    JSON array of every entry (`json`). Ends in a newline."""
    if fmt == "json":
        return json.dumps(as_json(), indent=2) + "\n"
    if fmt != "text":
        raise ValueError(f"unknown format {fmt!r} (known: text, json)")
    entries = ordered()
    width = max(len(r.id) for r in entries)
    lines = [f"{'RULE':<{width}}  {'SEVERITY':<8}  DESCRIPTION"]
    lines += [f"{r.id:<{width}}  {r.severity:<8}  {r.summary}" for r in entries]
    return "\n".join(lines) + "\n"


def _cell(text: str, code: bool = False) -> str:
    """Text for a Markdown table cell (in a code span when `code`): `|` escaped, and `<` `>` as
    entities outside code spans, so `<name>` is not read as an HTML tag."""
    text = text.replace("|", "\\|")
    return f"`{text}`" if code else text.replace("<", "&lt;").replace(">", "&gt;")


def families_markdown() -> str:
    """docs/cli.md's summary: one row per family with its rules, pointing at docs/rules.md."""
    rows = ["| family | rules | what |", "| --- | --- | --- |"]
    for family, what in FAMILIES.items():
        ids = [r.id for r in ordered() if r.family == family]
        rows.append(f"| {_cell(family, code=True)} | {len(ids)} | {_cell(what)} |")
    return "\n".join(rows) + "\n"


DOC_HEADER = """\
<!-- Generated from compiler/mlgitops/catalogue.py by `make docs`; do not edit. -->
# mlgitops rules

Every finding mlgitops reports names its rule: `path:line:col: severity: message [rule]`. This
page lists every rule, grouped by family, with its default severity (a rule whose severity can
differ says when). `mlgitops rules` prints the same list (`--format json` for machines).
"""


def reference_markdown() -> str:
    """docs/rules.md."""
    parts = [DOC_HEADER]
    for family, what in FAMILIES.items():
        parts.append(f"\n## `{family}`\n\n{what}\n\n| rule | severity | what it catches |\n| --- | --- | --- |\n")
        for r in ordered():
            if r.family == family:
                more = f" {r.help}" if r.help else ""
                parts.append(f"| {_cell(r.id, code=True)} | {r.severity} | {_cell(r.summary + more)} |\n")
    return "".join(parts)
