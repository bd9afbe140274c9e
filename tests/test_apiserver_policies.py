"""What `mlgitops policy check` says offline is what a real kube-apiserver v1.36.3 enforces.

1. Same verdict, proven differentially. Each policy of policies/ in turn is installed for real
   (its ValidatingAdmissionPolicy and bindings; the parameter objects of policies/params/ are
   installed once), then every object of the corpus is sent as a server-side dry-run create and
   the server's verdict (allow, deny, warn, and the message) is compared with what mlgitops'
   engine says for that object under that policy. The corpus of a policy: its test cases
   (policies/tests/<policy>.yaml; a case that overrides the parameters gets a parameter object and
   a binding of its own), every generated object (each overlay rendered by mlgitops' engine, and
   argocd/), seeded mutants of the generated objects (policydiff.mutants: 40 per policy, most of
   them violations) and edge mutants (policydiff.EDGES: number parsing, regex boundaries, message
   and warning size limits, defaulting, exact bounds). The server reports
   only its first denial, so the engine's first failing validation (per Deny binding) is compared,
   and every warning of Warn bindings. Objects the server refuses for another reason (schema) are
   counted and listed apart. Every disagreement fails; the server is the truth. The counts are
   printed, and written as JSON to $MLGITOPS_DIFF_REPORT when it is set.
2. All the policies in the cluster at once are safe: a new namespace (its default ServiceAccount
   and kube-root-ca.crt), an unrelated ConfigMap, a Deployment in kube-system and the parameter
   objects themselves are all admitted; the objects a model waives a policy for are admitted, and
   denied by that policy once their waiver label is removed.

Propagation is made deterministic in policydiff (module docstring): probes, then re-checks.
Policies are removed after each round; the last removal is waited for before the cluster is left
to other tests.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import time
import uuid

import pytest

import policydiff
from policydiff import (BINDING_KIND, MUTANTS_PER_POLICY, WAIVER_PREFIX, Item, Round, Stats, agree, case_items,
                        edge_mutants, engine_verdict, generated_items, mutants, namespaces_of, params_documents,
                        server_documents, server_verdict, write_report)
from tooling import REPO_ROOT

POLICIES_DIR = REPO_ROOT / "policies"
POLICY_NAMES = policydiff.policy_names(POLICIES_DIR)
# The environments' namespaces, those of the Argo CD objects and of the policies' parameters.
NAMESPACES = {"ml-staging", "ml-prod", "argocd", "mlgitops-policy", "default"}
DENIED_MUTANTS = 24  # of MUTANTS_PER_POLICY: at least this many the engine denies or warns about, when it can


@dataclasses.dataclass
class Context:
    client: object
    pset: object
    documents: dict
    generated: list
    cases: dict
    case_problems: list
    stats: Stats
    mutants: dict = dataclasses.field(default_factory=dict)  # policy -> the mutants compared
    pools: dict = dataclasses.field(default_factory=dict)  # policy -> every mutant generated
    edges: dict = dataclasses.field(default_factory=dict)  # policy -> its edge mutants (policydiff.EDGES)
    last_round: Round | None = None  # removed, its removal not yet waited for


def _matcher(policy):
    """Whether the policy's resource rules (not its selectors) match an object's kind."""
    from mlgitops.policy.match import Target

    rules = {"resourceRules": (policy.match_constraints or {}).get("resourceRules") or []}
    return lambda obj: Target(obj, {}).matches(rules)


def _pick_mutants(policy, pset, pool: list[Item]) -> list[Item]:
    """MUTANTS_PER_POLICY mutants of the pool: the first DENIED_MUTANTS the engine denies (or warns
    about), the rest from the others, in the generator's (seeded) order."""
    bad, good = [], []
    for item in pool:
        (bad if engine_verdict(policy, item, pset).kind != "allow" else good).append(item)
    chosen = bad[:DENIED_MUTANTS]
    chosen += good[:MUTANTS_PER_POLICY - len(chosen)]
    chosen += bad[DENIED_MUTANTS:DENIED_MUTANTS + MUTANTS_PER_POLICY - len(chosen)]
    return chosen


@pytest.fixture(scope="module")
def diff(apiserver):
    from mlgitops.policy.load import load_policies

    started = time.monotonic()
    pset = load_policies(str(POLICIES_DIR), str(REPO_ROOT))
    assert pset.policies, [d.format() for d in pset.diagnostics]
    documents = server_documents(POLICIES_DIR)
    generated = generated_items()
    cases, problems = case_items(POLICIES_DIR)
    ctx = Context(apiserver.client, pset, documents, generated, cases, problems, Stats())
    for policy in pset.policies:
        # A policy over a kind the example does not emit (e.g. ingress-tls before a model has a
        # route) is mutated from its own test cases' objects too.
        bases = generated if any(_matcher(policy)(g.obj) for g in generated) else generated + cases.get(policy.name, [])
        ctx.pools[policy.name] = mutants(policy.name, bases, _matcher(policy), policies=tuple(POLICY_NAMES))
        ctx.mutants[policy.name] = _pick_mutants(policy, pset, ctx.pools[policy.name])
        ctx.edges[policy.name] = edge_mutants(
            policy.name, generated, _matcher(policy),
            lambda obj, p=policy: engine_verdict(p, Item("", "mutant", obj, [obj]), pset).detail != "not matched")
    everything = generated + [i for items in cases.values() for i in items] + \
        [i for items in ctx.mutants.values() for i in items] + [i for items in ctx.edges.values() for i in items]
    for name in sorted(NAMESPACES | namespaces_of(everything) | set(policydiff.NAMESPACES)):
        ctx.client.namespace(name)
    for params in params_documents(POLICIES_DIR):
        ctx.client.ensure(params)
    ctx.stats.seconds = time.monotonic() - started
    yield ctx
    if ctx.last_round is not None:  # the other test modules share the cluster
        ctx.last_round.settle_removal()


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_the_server_and_the_engine_agree(diff, name):
    policy = diff.pset.get(name)
    assert policy is not None, f"mlgitops does not load policy {name}: " + \
        "; ".join(d.format() for d in diff.pset.diagnostics)
    vap, bindings = diff.documents[name]
    stats = diff.stats
    started = time.monotonic()
    before = len(stats.disagreements)
    items = diff.cases.get(name, []) + diff.generated + diff.mutants.get(name, []) + diff.edges.get(name, [])
    assert len(diff.mutants.get(name, [])) >= 30, f"only {len(diff.mutants.get(name, []))} mutants for {name}"
    # The previous round's removal needs no wait: this round's probe can only agree once the
    # admission plugin has dropped the bindings deleted before this round's were created.
    diff.last_round = Round(diff.client, policy, diff.pset, vap, bindings, stats)
    diff.last_round.run(items, diff.mutants.get(name, []), wait_for_removal=False)
    stats.policies += 1
    stats.seconds += time.monotonic() - started
    found = stats.disagreements[before:]
    assert not found, f"{len(found)} disagreement(s) for {name} (the server is the truth):\n" + \
        "\n".join(f"- {d['object']}\n    server: {d['server']}\n    engine: {d['engine']}" for d in found)


def test_the_differential_summary(diff, capsys):
    """The counts of every round above; fails on any disagreement, on a round that compared nothing,
    or when not-comparable objects are more than a few."""
    stats = diff.stats
    path = write_report(stats)
    with capsys.disabled():
        print(f"\npolicy differential vs kube-apiserver: {stats.summary()}")
        for name, per in sorted(stats.by_policy.items()):
            print(f"  {name}: {per}")
        print(f"  propagation (s): {stats.settle}")
        for entry in stats.not_comparable:
            print(f"  not comparable: [{entry['policy']}] {entry['object']}: {entry['server'][:240]}")
        for entry in diff.case_problems:
            print(f"  test case not resolved: {entry}")
        if path:
            print(f"  report written to {path}")
    if stats.policies == 0:
        pytest.skip("no policy round ran (deselected)")
    assert not stats.disagreements, f"{len(stats.disagreements)} disagreement(s)"
    assert all(per["pairs"] > 0 for per in stats.by_policy.values()), stats.by_policy
    assert len(stats.not_comparable) <= max(10, stats.pairs // 50), stats.not_comparable


# --- all policies at once -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def all_policies(diff):
    """Every policy and binding installed at once (and the parameters); removed afterwards, waiting
    until the server admits the probes again (the other test modules share the cluster)."""
    client, pset = diff.client, diff.pset
    installed = []
    active: dict[str, tuple] = {}  # policy -> the probe that showed it in force
    try:
        for name, (vap, bindings) in diff.documents.items():
            for obj in [vap] + bindings:
                response = client.apply(obj, manager="mlgitops-policydiff")
                assert response.ok, f"{obj['kind']} {obj['metadata']['name']}: {response.message}"
                installed.append(obj)
        # Probes per policy: mutants the policy denies (or warns about) and no other policy denies.
        probes: dict[str, list] = {}
        for policy in pset.policies:
            for item in diff.pools.get(policy.name, []):
                own = engine_verdict(policy, item, pset)
                if own.kind != "allow" and all(engine_verdict(p, item, pset).kind != "deny"
                                               for p in pset.policies if p is not policy):
                    probes.setdefault(policy.name, []).append((item, own))
                    if len(probes[policy.name]) == 5:
                        break
        assert set(probes) == {p.name for p in pset.policies}, \
            f"no probe (a mutant only it denies) for {sorted({p.name for p in pset.policies} - set(probes))}"
        deadline = time.monotonic() + policydiff.SETTLE_SECONDS
        pending = dict(probes)
        while pending and time.monotonic() < deadline:
            for name, candidates in list(pending.items()):
                for item, engine in candidates:
                    if _in_force(engine, server_verdict(client.create(item.obj))):
                        active[name] = (item, engine)
                        del pending[name]
                        break
            time.sleep(0.1)
        assert not pending, f"policies not in force after {policydiff.SETTLE_SECONDS:.0f}s: {sorted(pending)}"
        yield diff
    finally:
        for obj in sorted(installed, key=lambda o: o["kind"] != BINDING_KIND):
            client.delete(obj)
        deadline = time.monotonic() + policydiff.SETTLE_SECONDS
        pending = dict(active)
        while pending and time.monotonic() < deadline:
            for name, (item, _) in list(pending.items()):
                if server_verdict(client.create(item.obj)).kind == "allow":  # no denial, no warning
                    del pending[name]
            time.sleep(0.1)
        assert not pending, f"policies still in force after removal: {sorted(pending)}"


def _in_force(engine, server) -> bool:
    """The server's verdict shows the policy of the engine's verdict in force (other policies may add
    warnings)."""
    if engine.kind == "deny":
        return server.kind == "deny" and agree(engine, dataclasses.replace(server, warnings=[]))
    return server.kind == "warn" and set(engine.warnings) <= set(server.warnings)


def _wait_for(client, path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.request("GET", path).ok:
            return
        time.sleep(0.2)
    raise AssertionError(f"{path} did not appear within {timeout:.0f}s")


def test_all_policies_in_the_cluster_block_nothing_else(all_policies):
    ctx = all_policies
    client = ctx.client
    ns = f"mlgitops-safety-{uuid.uuid4().hex[:6]}"
    problems = []

    def create(obj, what):
        response = client.create(obj, dry_run=False)
        if not response.ok:
            problems.append(f"{what}: {response.status} {response.message}")
        return response

    try:
        create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, f"namespace {ns}")
        # kube-controller-manager fills the namespace: both are created (and admitted) by it
        _wait_for(client, f"/api/v1/namespaces/{ns}/serviceaccounts/default")
        _wait_for(client, f"/api/v1/namespaces/{ns}/configmaps/kube-root-ca.crt")
        create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unrelated", "namespace": ns},
                "data": {"key": "value"}}, "an unrelated ConfigMap")
        # a Deployment that breaks most rules (latest image, no resources, root) but is not mlgitops'
        deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                      "metadata": {"name": f"unrelated-{ns[-6:]}", "namespace": "kube-system",
                                   "labels": {"app": "unrelated"}},
                      "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "unrelated"}},
                               "template": {"metadata": {"labels": {"app": "unrelated"}},
                                            "spec": {"containers": [{"name": "c", "image": "busybox:latest",
                                                                     "env": [{"name": "PASSWORD", "value": "x"}]}]}}}}
        create(deployment, "a Deployment in kube-system without mlgitops labels")
        # the parameter objects themselves: updated (server-side apply) and created anew (dry run)
        for params in params_documents(POLICIES_DIR):
            response = client.apply(params, manager="mlgitops-policydiff")
            if not response.ok:
                problems.append(f"params {params['metadata']['name']} (apply): {response.message}")
            fresh = copy.deepcopy(params)
            fresh["metadata"]["name"] += "-copy"
            response = client.create(fresh)
            if not response.ok:
                problems.append(f"params {fresh['metadata']['name']} (create): {response.message}")
        assert not problems, "\n".join(problems)
    finally:
        client.request("DELETE", f"/apis/apps/v1/namespaces/kube-system/deployments/unrelated-{ns[-6:]}")
        client.request("DELETE", f"/api/v1/namespaces/{ns}")


def test_waived_objects_are_admitted_and_their_label_is_what_admits_them(all_policies):
    ctx = all_policies
    client, pset = ctx.client, ctx.pset
    waived = [i for i in ctx.generated
              if any(k.startswith(WAIVER_PREFIX) for k in ((i.obj.get("metadata") or {}).get("labels") or {}))]
    if not waived:
        pytest.skip("no generated object carries a waivers.mlgitops.dev/* label yet (mlgitops build does not "
                    "write waiver labels in this version)")
    problems = []
    denied_by = {}
    for item in waived:
        response = client.create(item.obj)
        if not response.ok:
            problems.append(f"{item.label} (waived) refused: {response.status} {response.message}")
        labels = item.obj["metadata"]["labels"]
        for key in [k for k in labels if k.startswith(WAIVER_PREFIX)]:
            name = key[len(WAIVER_PREFIX):]
            policy = pset.get(name)
            if policy is None:
                problems.append(f"{item.label}: {key} names no policy")
                continue
            bare = copy.deepcopy(item.obj)
            del bare["metadata"]["labels"][key]
            engine = engine_verdict(policy, Item(item.label, "waived", bare, item.others), pset)
            server = server_verdict(client.create(bare))
            if engine.kind == "deny":
                denied_by.setdefault(name, []).append(item.label)
                if server.kind != "deny" or server.denials[0][0] != name or not agree(engine, server):
                    problems.append(f"{item.label} without {key}: the server says {server.describe()}, "
                                    f"expected {engine.describe()}")
            elif server.kind == "deny":
                problems.append(f"{item.label} without {key}: denied by the server ({server.describe()}), "
                                f"the engine says {engine.describe()}")
    waived_policies = {k[len(WAIVER_PREFIX):] for i in waived for k in i.obj["metadata"]["labels"]
                       if k.startswith(WAIVER_PREFIX)}
    missing = sorted(waived_policies - set(denied_by))
    assert not problems, "\n".join(problems)
    assert not missing, f"no waived object breaks the waived policy once unlabelled: {missing}"


def _reference_overlays() -> set[str]:
    """The overlays/<env>@<cluster>/<model> directories that only refer to the environment's
    overlay of the model (`resources: [../../<env>/<model>]`, nothing of their own)."""
    import yaml

    out = set()
    for kust in REPO_ROOT.glob("overlays/*@*/*/kustomization.yaml"):
        doc = yaml.safe_load(kust.read_text())
        env, model = kust.parent.parent.name.partition("@")[0], kust.parent.name
        if set(doc) <= {"apiVersion", "kind", "resources"} and doc["resources"] == [f"../../{env}/{model}"]:
            out.add(kust.parent.relative_to(REPO_ROOT).as_posix())
    return out


def test_the_example_is_admitted_with_every_policy_installed_and_warned_as_policy_check_warns(all_policies):
    """What Argo CD syncs with every policy in force: every generated object (the waived ones through
    their labels) is admitted, and the server's policy warnings are `mlgitops policy check`'s."""
    from mlgitops.policy.check import check

    ctx = all_policies
    refused, warned = [], []
    references = _reference_overlays()
    assert references  # the example's prod-eu overlays of the models that pull from no endpoint
    for item in ctx.generated:
        response = ctx.client.create(item.obj)
        if not response.ok:
            refused.append(f"{item.label}: {response.status} {response.message}")
        # A cluster's overlay that only refers to its environment's renders that overlay's objects,
        # whose findings policy check reports once (at the same place): so are their warnings here.
        if item.label.split(":")[0] not in references:
            warned += [w for w in response.warnings if "ValidatingAdmissionPolicy" in w]
    assert not refused, "\n".join(refused)
    report = check([], str(REPO_ROOT), str(POLICIES_DIR))
    offline = [d for d in report.diagnostics if d.severity == "warning" and d.rule.startswith("policy.")]
    # read-only-root-filesystem only (policies/README.md, Warnings)
    assert offline and {d.rule for d in offline} == {"policy.read-only-root-filesystem"}
    assert len(warned) == len(offline)
    server = sorted(re.sub(r"^.*? with binding '[^']*': ", "", w) for w in warned)
    assert server == sorted(d.message.split(": ", 1)[-1] for d in offline)
