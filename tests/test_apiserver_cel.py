"""Differential: mlgitops' CEL engine (cel-cpp + cel.py's cel-go semantics) against a real
kube-apiserver v1.36.3 (cel-go) on string conversions (double, int, uint, bool, duration,
timestamp, quantity), NaN ordering (operators, lists' min/max/isSorted/sum, a variable) and
string() of a double.

One ValidatingAdmissionPolicy holds one validation per case below, each guarded by its own data key
(`!('d' in object.data) || <expression>`), so a ConfigMap with the single key `d` is judged by that
validation alone. Every string of `strings()` (FIXED edge cases and a seeded random sample) is sent
under every key as a server-side dry run; the server's verdict (allowed, or denied with the
validation's message or `expression '...' resulted in error: ...`) must equal the engine's
(policy/check.py run_policy over the same policy and object), message included. The server is the
truth; docs/cel.md ("Where cel-cpp and cel-go differ") lists what is covered.
"""

from __future__ import annotations

import json
import os
import random
import re
import time

import yaml

from kubeapi import request_pool
from mlgitops.policy.celext import go_parse_float
from mlgitops.policy.check import run_policy
from mlgitops.policy.load import load_policies
from mlgitops.policy.match import Target, namespace_labels

SEED = 20260611
POLICY = "mlgitops-cel-diff"
LABELS = {"app.kubernetes.io/managed-by": "mlgitops", "mlgitops.dev/cel-diff": "true"}
DENY_RE = re.compile(r"ValidatingAdmissionPolicy '([^']*)' with binding '([^']*)' denied request: (.*)\Z", re.S)

# key -> expression; the key's value is the string under test
CASES = {
    "d": "double(object.data.d) > 1.0",
    "i": "int(object.data.i) > 1",
    "u": "uint(object.data.u) > 1u",
    "b": "bool(object.data.b)",
    "q": "isQuantity(object.data.q)",
    "a": "quantity(object.data.a).isGreaterThan(quantity('1'))",
    "z": "sign(quantity(object.data.z)) != 0",  # values below 1n are rounded up to 1n
    "y": "quantity(object.data.y).compareTo(quantity('1.5Gi')) < 0",
    "e": "double(object.data.e) == double(object.data.e)",  # NaN: false, no error
    "n": "double(object.data.n) != 1.0",
    "s": "double(object.data.s) - double(object.data.s) < 1.0",  # Inf - Inf is NaN
    "c": "dyn(2) > double(object.data.c)",  # int vs double, NaN on the right
    "g": "double(object.data.g) >= dyn(2)",
    "m": "[double(object.data.m), 1.0].min() <= 1.0",
    "x": "[1.0, double(object.data.x)].max() >= 1.0",
    "o": "[1.0, double(object.data.o), 0.5].isSorted()",
    "k": "[double(object.data.k), 1.0].sum() > 0.0",
    "l": "[double(object.data.l)].all(v, v < 2.0)",
    "w": "variables.w > 1.0",  # a variable: the engine may evaluate it on its own (cel.py's variables_hold_nan)
    "f": "double(object.data.f) == 1.0",  # denied with messageExpression: string(<double>) as Go's %g
    "t": "duration(object.data.t) > duration('0s')",
    "p": "timestamp(object.data.p) > timestamp('2000-01-01T00:00:00Z')",
}
MESSAGE_EXPRESSIONS = {"f": "'f=' + string(double(object.data.f))"}
VARIABLES = {"w": "'w' in object.data ? double(object.data.w) : 0.0"}
# the variable is only sent values that convert: a variable's own error is reported in other words
# (`composited variable "w" fails to evaluate: ...`, evaluate.py), not what this test is about
CONVERTING_ONLY = {"w"}
# quantities with a decimal exponent beyond 1000: isQuantity() only (huge_quantity)
QUANTITY_VALUES = {"a", "z", "y"}

FIXED = [
    "", " ", "0", "1", "2", "99.9", " 99.9", "99.9 ", "\t1", "1\n", "+1", "-1", "+0", "-0", "007", "1.", ".5",
    "+.5", "-.5e-3", "5.e3", "1e3", "1E3", "1e+3", "1e-3", "1e", "e1", "1e+", "1.5e3.2", ".", "+", "-", "+-1",
    "--1", "1.2.3", "1,5", "99_9", "1_000", "1__0", "_1", "1_", "1_.5", "1._5", "1e1_0", "1e_10", "1_e10",
    "+_1", "0_1", "0x63", "0X63", "0x1p4", "0x1.8p1", "0X1P-2", "0x_1p0", "0x1_0p0", "0x.8p1", "0xp1", "0x",
    "0x1.8", "0x1p", "0x1p+", "0xg1p0", "-0x1p4", "0b101", "0o17", "0b1p0", "Inf", "inf", "+Inf", "-Inf",
    "INF", "iNf", "infinity", "-Infinity", "+INFINITY", "infin", "infinityy", "infs", "in", "NaN", "nan",
    "NAN", "nAn", "+NaN", "-nan", "nan1", "nana", "1e400", "-1e400", "1e308", "1.7976931348623157e308",
    "1.7976931348623159e308", "1e-400", "-1e-400", "4.9e-324", "2e-324", "0x1p1023", "0x1p1024",
    "0x1.fffffffffffff8p1023", "0x1p-1074", "0x1p-1080", "1e99999999999", "0e99999999", "9223372036854775807",
    "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "18446744073709551615",
    "18446744073709551616", "0" * 30 + "1", "1" * 40, "1" * 400, "0." + "0" * 400 + "1", "\uff11\uff12",
    "\u0661\u0662", "1\u00a0", "true", "True", "TRUE", "T", "t", "F", "f", "false", "False", "FALSE", "yes",
    "tRUE", "fAlse", "1Ki", "1Gi", "500m", "1.5Gi", "1i", ".5Mi", "+1k", "1K", "1E", "1e2Mi", "1e3m", "1Ei",
    "1EiB", "-1Mi", "1.Mi", "1m5", "0.0001n", "1n", "1u", "1M", "1P", "1T", "1e-9", "1E+2", "12e", "1Gi ",
    # durations (time.ParseDuration) and timestamps (time.Parse(time.RFC3339))
    "1s", "+5s", "-1.5h", "1h30m", "1us", "1\u00b5s", "1\u03bcs", "1d", ".5s", "5.s", "1e3s", "10000000h",
    "2562047h", "2562048h", "-2562047h47m16.854775808s", "2562047h47m16.854775807s", "2562047h47m16.854775808s",
    "1ns1s", "3m-2s", "1.000000000001s", "0.333333333333333333333h", "1h1h", "1H", "1S", " 1s", "1s ", "+.5s",
    ".s", "-.s", "1.5.s", "315576000000s", "1m.5s", "0.1ns", "9223372036854775807ns", "9223372036854775808ns",
    "-9223372036854775808ns", "99999999999999999999ns",
    "2024-01-01T00:00:00Z", "2024-01-01t00:00:00z", "2024-01-01T00:00:00+01:00", "2024-01-01 00:00:00Z",
    "2024-01-01T00:00:00.123456789Z", "2024-01-01T00:00:00.1234567891Z", "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z", "9999-12-31T23:59:59.999999999Z", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z",
    "2024-02-30T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:60Z", "2024-01-01T00:60:00Z",
    "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z", "2024-01-00T00:00:00Z", "2024-01-01T00:00:00+24:00",
    "2024-01-01T00:00:00+24:60", "2024-01-01T00:00:00+25:00", "2024-01-01T00:00:00+23:61", "2024-01-01T00:00:00-00:00",
    "2024-1-01T00:00:00Z", "2024-01-1T00:00:00Z", "2024-01-01T1:00:00Z", "2024-01-01T01:0:00Z",
    "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00,5Z", "0000-01-01T00:00:00Z", "0000-12-31T23:00:00-01:00",
    "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", "2024-01-01T00:00Z", "2024-01-01T00:00:00+0100",
    "10000-01-01T00:00:00Z", "+2024-01-01T00:00:00Z", "2024-01-01T00:00:00+01:00x", "2024-01-01T00:00:00",
    "2024-01-01", "1970-01-01T00:00:00.000000000Z", "1969-12-31T23:59:59.999999999Z",
]
TOKENS = ["", "+", "-", "0", "1", "9", "5", ".", "e", "E", "_", "x", "X", "p", "1_0", "inf", "Inf", "nan",
          "NaN", " ", "00", "e+", "e-", "0x", "a", "f", "Ki", "m", "G", "i", "ty", "308", "400"]


def strings() -> list[str]:
    rng = random.Random(SEED)
    out = list(FIXED)
    while len(out) < len(FIXED) + 160:
        text = "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 5)))
        if text not in out:
            out.append(text)
    return out


def huge_quantity(text: str) -> bool:
    """A decimal exponent beyond +-1000: the engine does not compute such quantities (docs/cel.md), and
    the server takes longer than its request timeout to compare some ('0e99999999' > 1: 504)."""
    found = re.search(r"[eE][+-]?([0-9]+)\Z", text)
    return bool(found) and int(found.group(1)) > 1000


def documents() -> tuple[dict, dict]:
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                                                    "operations": ["CREATE", "UPDATE"], "resources": ["configmaps"]}]},
            "variables": [{"name": name, "expression": text} for name, text in VARIABLES.items()],
            "validations": [{"expression": f"!('{key}' in object.data) || {text}", "message": f"{key}: false",
                             **({"messageExpression": MESSAGE_EXPRESSIONS[key]} if key in MESSAGE_EXPRESSIONS else {})}
                            for key, text in CASES.items()],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY},
        "spec": {"policyName": POLICY, "validationActions": ["Deny"],
                 "matchResources": {"objectSelector": {"matchLabels": dict(LABELS)}}},
    }
    return policy, binding


def config_map(key: str, value: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cel-diff", "namespace": "default", "labels": dict(LABELS)},
            "data": {key: value}}


def engine_verdict(pset, obj: dict) -> str:
    (binding, outcome), = list(run_policy(pset.policies[0], Target(obj, namespace_labels([obj])), pset))
    assert not isinstance(outcome, str), outcome
    found = [v.message for v in outcome.violations]
    found += [f"expression '{f.expression.text}' resulted in error: {f.message}" for f in outcome.failures]
    assert len(found) <= 1, found  # one data key: one validation in play
    return f"deny: {found[0]}" if found else "allow"


def server_verdict(response) -> str:
    if response.ok:
        return "allow"
    match = DENY_RE.search(response.message)
    if match and match.group(1) == POLICY:
        return f"deny: {match.group(3)}"
    return f"refused: {response.status} {response.message}"


def settle(client, pset, obj: dict, want_engine: bool, timeout: float = 60.0) -> None:
    """Send `obj` until the server's verdict is the engine's (want_engine) or is `allow` (removed)."""
    expected = engine_verdict(pset, obj) if want_engine else "allow"
    deadline = time.monotonic() + timeout
    got = ""
    while time.monotonic() < deadline:
        got = server_verdict(client.create(obj))
        if got == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"the policy did not {'take' if want_engine else 'leave'} effect in {timeout:.0f}s: "
                         f"server {got!r}, expected {expected!r}")


def test_engine_agrees_with_apiserver_on_conversions_and_nan(apiserver, tmp_path):
    client = apiserver.client
    policy, binding = documents()
    (tmp_path / "pol").mkdir()
    (tmp_path / "pol" / "p.yaml").write_text(yaml.safe_dump_all([policy, binding], sort_keys=False))
    pset = load_policies(str(tmp_path / "pol"), str(tmp_path))
    assert not pset.diagnostics.has_errors, [d.format() for d in pset.diagnostics]

    probe = config_map("d", "0.5")
    assert engine_verdict(pset, probe) == "deny: d: false"
    for obj in (policy, binding):
        response = client.apply(obj, manager="mlgitops-cel-diff")
        assert response.ok, response.message
    pairs = agreements = 0
    disagreements: list[dict] = []
    counts = {"allow": 0, "deny": 0, "error": 0}
    try:
        settle(client, pset, probe, True)
        # the engine's verdicts first (here, alone: policy evaluation sets the process's memory
        # limit), then the server's, asked a few at a time (kubeapi.request_pool), compared in order
        judged = []
        for key in CASES:
            for value in strings():
                if key in CONVERTING_ONLY:
                    try:
                        go_parse_float(value)
                    except ValueError:
                        continue
                if key in QUANTITY_VALUES and huge_quantity(value):
                    continue
                obj = config_map(key, value)
                judged.append((key, value, obj, engine_verdict(pset, obj)))
        with request_pool(client) as submit:
            asked = [submit(lambda connection, o: server_verdict(connection.create(o)), obj)
                     for _, _, obj, _ in judged]
            for (key, value, _, engine), reply in zip(judged, asked):
                server = reply.result()
                assert not server.startswith("refused"), (key, value, server)
                pairs += 1
                if engine == server:
                    agreements += 1
                    counts["allow" if server == "allow" else "error" if "resulted in error" in server else "deny"] += 1
                else:
                    disagreements.append({"key": key, "value": value, "server": server, "engine": engine})
    finally:
        for obj in (binding, policy):
            client.delete(obj)
        settle(client, pset, probe, False)
    report = {"pairs": pairs, "agreements": agreements, **counts, "disagreements": disagreements}
    path = os.environ.get("MLGITOPS_CEL_DIFF_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2, ensure_ascii=False)
    print(f"cel differential: {pairs} pairs, {agreements} agree ({counts}), {len(disagreements)} disagree")
    assert not disagreements, json.dumps(disagreements[:40], indent=1, ensure_ascii=False)
    assert pairs > 3000
