"""`mlgitops policy test`: run the policy test cases in `policies/tests/*.yaml`.

One job: evaluate each case's policy against the case's object and compare with the expected
outcome, then judge coverage. A test file (one YAML document per policy; several documents allowed):

    policy: require-resources            # the policy's metadata.name
    cases:
    - name: predictor with limits passes
      expect: pass                       # pass | fail | skip (skip: the policy does not match the object)
      object: {apiVersion: ..., kind: ..., metadata: {...}, spec: {...}}   # an inline object, or
      # file: ../../overlays/prod/iris   # a YAML file or an overlay directory, relative to the test file,
      # select: {kind: InferenceService, name: iris}   # picking exactly one object (kind, name,
      #                                                # namespace, apiVersion); needed when there are several
      # model: {apiVersion: mlgitops.dev/v1alpha1, kind: Model, ...}   # an inline model file, or
      # env: prod                        # with model: compiled by mlgitops' own pipeline (`mlgitops build`
      #                                  # in a scratch copy of the repository's mlgitops.yaml), the
      #                                  # overlay overlays/<env>/<model> rendered; select picks the object
      message: "must set resource limits"   # for fail: a substring of one violation's message
      params: {data: {maxReplicas: "5"}}    # optional: merged over the parameter object (maps key by key)

Outcomes: `pass` (every validation true), `fail` (a validation false), `skip` (matchConstraints, the
binding's matchResources or matchConditions exclude the object; matched as the API server does, so an
object labelled `waivers.mlgitops.dev/<policy>` is skipped by a binding that excludes it), `error` (an evaluation failure or
missing parameters: never what a case expects). A case passes when the outcome is the expected
one (and, for fail, `message` is found). Errors (exit 1): a failing case (`policy.test-failed`), a
malformed test file or case (`policy.test-invalid`), a test file naming no policy
(`policy.test-unknown`), and, unless `-k` selects cases, a policy without at least one `expect:
pass` case and one `expect: fail` case (`policy.untested`): a policy is only tested when it is
seen both to accept a good object and to reject a bad one.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
import time
from typing import Any, Sequence

from .. import contain, layout
from ..config import CONFIG_FILE
from ..diagnostics import ERROR, Diagnostic, Diagnostics
from ..emit import dump
from ..validate.documents import collect, display_path
from ..validate.results import Document
from .check import run_policy
from .cel import MEMORY_HEADROOM, memory_budget
from .evaluate import Outcome
from .load import TESTS_DIR, Policy, PolicySet, Source, load_policies, read_sources
from .match import Target, namespace_labels

EXPECTATIONS = ("pass", "fail", "skip")
_SOURCES = ("object", "file", "model")
_SELECT_KEYS = {"kind", "name", "namespace", "apiVersion"}
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")


class CaseProblem(Exception):
    """A case that cannot run, reported at `field` of the case with `rule` (not as a failed case)."""

    def __init__(self, rule: str, field: tuple, message: str) -> None:
        super().__init__(message)
        self.rule, self.field, self.message = rule, field, message


@dataclasses.dataclass
class CaseResult:
    policy: str
    name: str
    expect: str
    outcome: str  # pass | fail | skip | error
    detail: str
    where: tuple[str, int, int]
    ok: bool


@dataclasses.dataclass
class TestReport:
    diagnostics: Diagnostics
    results: list[CaseResult] = dataclasses.field(default_factory=list)
    deselected: int = 0
    seconds: float = 0.0
    files: list[str] = dataclasses.field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def failed(self) -> int:
        return sum(not r.ok for r in self.results)

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == ERROR and d.rule != "policy.test-failed")

    def summary(self) -> dict:
        return {"passed": self.passed, "failed": self.failed, "deselected": self.deselected,
                "seconds": round(self.seconds, 3)}

    def summary_line(self) -> str:
        parts = [f"{self.passed} passed"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.deselected:
            parts.append(f"{self.deselected} deselected")
        if self.errors:
            parts.append(f"{self.errors} error{'s' if self.errors != 1 else ''}")
        return f"{', '.join(parts)} in {self.seconds:.2f}s"


class _Objects:
    """A case's objects: inline, from a file or overlay, or compiled from an inline model."""

    def __init__(self, repo_root: str, policies_root: str | None = None) -> None:
        self.root = repo_root
        # where `file:` may lead: the repository, and a policy directory named outside it on the command line
        self.allowed = [repo_root] + ([policies_root] if policies_root and policies_root != repo_root else [])
        self._scratch: str | None = None
        self._models: dict[tuple[str, str], list[Document] | str] = {}
        self._files: dict[str, list[Document] | str] = {}  # path -> its objects: many cases read one overlay

    def close(self) -> None:
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def inline(self, obj: Any, src: Source, path: tuple) -> list[Document] | str:
        if not isinstance(obj, dict):
            return "object: expected a Kubernetes object (a mapping)"
        file, line, _ = src.at(path)
        return [Document(obj=obj, file=file, line=line)]

    def from_file(self, rel: Any, src: Source) -> list[Document] | str:
        if not isinstance(rel, str) or not rel:
            return "file: expected a path relative to the test file"
        base = os.path.dirname(os.path.join(self.root, src.file))
        path = os.path.normpath(os.path.join(base, rel))
        try:
            contain.resolve(self.allowed, path)
        except contain.ContainmentError as exc:
            raise CaseProblem(exc.rule, ("file",), f"file: {rel} {exc.message}") from None
        if path not in self._files:
            self._files[path] = self._collect(path)
        return self._files[path]

    def _collect(self, path: str) -> list[Document] | str:
        if not os.path.exists(path):
            return f"file: {display_path(path, self.root)} does not exist"
        inputs = collect([path], self.root)
        problems = [d for d in inputs.diagnostics if d.severity == ERROR]
        if problems:
            return f"file: {problems[0].format()}"
        return inputs.documents

    def from_model(self, model: Any, env: Any) -> list[Document] | str:
        if not isinstance(model, dict) or not isinstance((model.get("metadata") or {}).get("name"), str):
            return "model: expected an inline model (a mapping with metadata.name and spec)"
        if not isinstance(env, str):
            return "env: the environment to compile the model for is required with model:"
        name = model["metadata"]["name"]
        # the name becomes a file name (models/<name>.yaml) and env a directory: checked before any write
        if not _DNS1123_LABEL.match(name) or len(name) > 63:
            raise CaseProblem("policy.test-invalid", ("model", "metadata", "name"),
                              f"model: metadata.name {name!r} is not a DNS-1123 label (lowercase letters, "
                              "digits and '-', starting and ending with a letter or digit, at most 63 characters)")
        if not _DNS1123_LABEL.match(env):
            raise CaseProblem("policy.test-invalid", ("env",),
                              f"env: {env!r} is not an environment name (a DNS-1123 label)")
        text = dump(model)
        key = (text, env)
        if key not in self._models:
            self._models[key] = self._compile(name, text, env)
        return self._models[key]

    def _compile(self, name: str, text: str, env: str) -> list[Document] | str:
        from ..pipeline import build

        if self._scratch is None:
            self._scratch = tempfile.mkdtemp(prefix="mlgitops-policy-test-")
        repo = os.path.join(self._scratch, str(len(self._models)))
        os.makedirs(os.path.join(repo, "models"))
        try:
            config = contain.read_bytes(self.root, CONFIG_FILE, "config")
        except FileNotFoundError:
            return f"model: {CONFIG_FILE} not found in the repository"
        except contain.ContainmentError as exc:
            return f"model: {CONFIG_FILE} {exc.message} [{exc.rule}]"
        except OSError as exc:
            return f"model: cannot read {CONFIG_FILE}: {exc.strerror or exc}"
        with open(os.path.join(repo, CONFIG_FILE), "wb") as fh:
            fh.write(config)
        with open(os.path.join(repo, "models", f"{name}.yaml"), "w", encoding="utf-8") as fh:
            fh.write(text)
        result = build(repo, use_cache=False)
        errors = [d for d in result.diagnostics if d.severity == ERROR]
        if errors:
            first = errors[0]
            return f"model: does not compile: line {first.line}: {first.message} [{first.rule}]"
        overlay = os.path.join(repo, layout.overlay_dir(env, name))
        if not os.path.isdir(overlay):
            return f"model: no overlay for environment '{env}' (unknown, or the model is disabled there)"
        inputs = collect([overlay], repo)
        return inputs.documents


def _select(docs: list[Document], select: Any) -> Document | str:
    if select is not None and (not isinstance(select, dict) or not set(select) <= _SELECT_KEYS):
        return f"select: expected a mapping of {', '.join(sorted(_SELECT_KEYS))}"
    wanted = select or {}
    picked = [d for d in docs if all({"kind": d.kind, "name": d.name, "namespace": d.namespace,
                                      "apiVersion": d.api_version}[k] == v for k, v in wanted.items())]
    if len(picked) == 1:
        return picked[0]
    shown = ", ".join(f"{d.kind} {d.name}" for d in picked[:6]) + (", ..." if len(picked) > 6 else "")
    if not picked:
        return f"select {wanted or '{}'} picks no object"
    return f"select {wanted or '{}'} picks {len(picked)} objects ({shown}); pick exactly one"


def outcome_of(policy: Policy, doc: Document, others: list[Document], pset: PolicySet,
               params: dict | None) -> tuple[str, str, list[str]]:
    """(outcome, detail, violation messages) of `policy` on `doc`."""
    target = Target(doc.obj, namespace_labels([d.obj for d in others]))
    outcomes: list[Outcome] = []
    with memory_budget():
        try:
            results = list(run_policy(policy, target, pset, params))
        except MemoryError:  # converting the object broke the budget (CEL's own is a failure below)
            return "error", f"evaluating the policy on this object needed more than the {MEMORY_HEADROOM // 2**20} " \
                            "MiB memory budget of an evaluation", []
    for _binding, outcome in results:
        if isinstance(outcome, str):
            return "error", outcome, []
        outcomes.append(outcome)
    failures = [f for o in outcomes for f in o.failures]
    if failures:
        f = failures[0]
        return "error", f"{f.expression.what} ({f.expression.where[0]}:{f.expression.where[1]}): {f.message}", []
    messages = [v.message for o in outcomes for v in o.violations]
    if messages:
        return "fail", "; ".join(messages), messages
    if not any(o.matched for o in outcomes):
        return "skip", "the policy does not match the object", []
    return "pass", "every validation holds", []


def run_tests(policies_dir: str, repo_root: str, *, keyword: str | None = None,
              schema_locations: Sequence[str] = (), policies: PolicySet | None = None) -> TestReport:
    """Every case in `policies_dir`/tests, with coverage checks (see the module docstring).
    `policies`: those of `policies_dir`, loaded already (the gate's policy check loaded them)."""
    started = time.perf_counter()
    pset = policies if policies is not None else load_policies(policies_dir, repo_root,
                                                                schema_locations=schema_locations)
    report = TestReport(Diagnostics(pset.diagnostics))
    diags = report.diagnostics
    root = contain.trusted_root(repo_root, policies_dir)
    objects = _Objects(repo_root, root)
    covered: dict[str, set[str]] = {}
    tests_dir = os.path.join(policies_dir, TESTS_DIR)
    try:
        try:
            files = [os.path.join(tests_dir, n) for n in contain.list_dir(root, tests_dir)]
        except contain.ContainmentError as exc:
            diags.add(exc.diagnostic(display_path(tests_dir, repo_root)))
            files = []
        for path in files:
            shown = display_path(path, repo_root)
            report.files.append(shown)
            for src in read_sources(path, shown, diags, root=root, kind="policy-test"):
                _run_suite(src, pset, objects, keyword, report, covered)
    finally:
        objects.close()
    if keyword is None and os.path.isdir(policies_dir):
        for policy in pset.policies:
            missing = [e for e in ("pass", "fail") if e not in covered.get(policy.name, set())]
            if missing:
                diags.error(*policy.where, "policy.untested",
                            f"policy {policy.name} has no {' and no '.join(f'expect: {m}' for m in missing)} "
                            f"case in {display_path(tests_dir, repo_root)}/: a policy must be seen to pass a "
                            "good object and to fail a bad one")
    report.seconds = time.perf_counter() - started
    return report


def _run_suite(src: Source, pset: PolicySet, objects: _Objects, keyword: str | None, report: TestReport,
               covered: dict[str, set[str]]) -> None:
    diags = report.diagnostics
    data = src.doc.data
    if not isinstance(data, dict) or not isinstance(data.get("policy"), str) or not isinstance(data.get("cases"), list):
        diags.error(*src.at(()), "policy.test-invalid",
                    "a test file needs `policy: <name>` and `cases: [...]` (see 'mlgitops policy test --help')")
        return
    name = data["policy"]
    if name not in pset.names:
        diags.error(*src.at(("policy",)), "policy.test-unknown",
                    f"no policy named '{name}' in {pset.directory} (known: {', '.join(sorted(pset.names)) or 'none'})")
        return
    policy = pset.get(name)
    for i, case in enumerate(data["cases"]):
        path = ("cases", i)
        where = src.at(path)
        if not isinstance(case, dict) or case.get("expect") not in EXPECTATIONS \
                or not isinstance(case.get("name"), str) or sum(k in case for k in _SOURCES) != 1:
            diags.error(*where, "policy.test-invalid",
                        f"cases[{i}]: a case needs name, expect (pass, fail or skip) and exactly one of "
                        "object, file or model")
            continue
        covered.setdefault(name, set()).add(case["expect"])
        if keyword is not None and keyword.lower() not in f"{src.file} {name} {case['name']}".lower():
            report.deselected += 1
            continue
        try:
            result = _run_case(policy, name, case, src, path, pset, objects)
        except CaseProblem as exc:
            field = path + exc.field
            where = src.at(field) if src.doc.has(field) else src.at(path)
            diags.add(Diagnostic(*where, exc.rule, ERROR, f"{name}: case '{case['name']}': {exc.message}"))
            report.results.append(CaseResult(name, case["name"], case["expect"], "error", exc.message,
                                             src.at(path + ("name",)), False))
            continue
        report.results.append(result)
        if not result.ok:
            diags.add(Diagnostic(*result.where, "policy.test-failed", ERROR,
                                 f"{name}: case '{result.name}': expected {result.expect}, got {result.outcome}: "
                                 f"{result.detail}"))


def _run_case(policy: Policy | None, name: str, case: dict, src: Source, path: tuple, pset: PolicySet,
              objects: _Objects) -> CaseResult:
    expect = case["expect"]

    def result(outcome: str, detail: str, ok: bool = False) -> CaseResult:
        return CaseResult(name, case["name"], expect, outcome, detail, src.at(path + ("name",)), ok)

    if policy is None:
        return result("error", f"policy {name} did not load (see its errors)")
    params = case.get("params")
    if params is not None and not isinstance(params, dict):
        return result("error", "params: expected a mapping (e.g. {data: {key: value}})")
    if "object" in case:
        docs = objects.inline(case["object"], src, path + ("object",))
    elif "file" in case:
        docs = objects.from_file(case["file"], src)
    else:
        docs = objects.from_model(case["model"], case.get("env"))
    if isinstance(docs, str):
        return result("error", docs)
    doc = _select(docs, case.get("select"))
    if isinstance(doc, str):
        return result("error", doc)
    outcome, detail, messages = outcome_of(policy, doc, docs, pset, params)
    if outcome != expect:
        return result(outcome, detail)
    wanted = case.get("message")
    if expect == "fail" and wanted is not None and not any(str(wanted) in m for m in messages):
        return result(outcome, f"no violation message contains {str(wanted)!r}; got: {detail}")
    return result(outcome, detail, ok=True)
