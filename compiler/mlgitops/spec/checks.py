"""Checks a JSON Schema cannot express: cross-field rules, cross-file rules, derived names.

Each check is a function over a resolved `ModelEnv` (or all files) that reports through the
shared `Diagnostics`. A problem that comes from the shared `spec` is reported once, however
many environments inherit it (the message does not name the environment then).
"""

from __future__ import annotations

import datetime
import difflib
import math
import re

from .. import names
from ..config import Config
from ..diagnostics import Diagnostic, Diagnostics, ERROR, WARNING, echo
from ..domain.frameworks import FRAMEWORKS
from ..schemacheck import dotted
from ..domain.burnrate import fastest_burn, longest_window
from ..domain.units import duration_seconds, quantity, say_seconds, seconds
from ..domain.sources import AVAILABILITY_SOURCES, SOURCES
from .model import ModelEnv, ModelFile

CREDENTIAL_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|CREDENTIAL|PRIVATE_?KEY)", re.I)

class Reporter:
    """Reports findings about one ModelEnv at the line that produced the value."""

    def __init__(self, me: ModelEnv, diags: Diagnostics) -> None:
        self.me = me
        self.diags = diags

    def __call__(self, path: tuple, rule: str, message: str, severity: str = ERROR) -> None:
        source = self.me.source_path(path)
        line, col = self.me.file.doc.position(source)
        shown = dotted(source)
        if source[:2] == ("spec", "environments"):
            message = f"{shown}: {message}"
        else:
            message = f"{dotted(('spec',) + tuple(path))}: {message}"
        self.diags.add(Diagnostic(self.me.file.path, line, col, rule, severity, message))


def check_files(files: list[ModelFile], config: Config, diags: Diagnostics,
                cached: dict[str, str] | None = None) -> None:
    """Rules across files and against the config: names, duplicates, environments.

    `cached` maps model names to the files of models the build cache vouched for (not re-read).
    """
    seen: dict[str, str] = dict(cached or {})
    # The file named after the model owns the name; a duplicate is blamed on the other file.
    files = sorted(files, key=lambda f: (f.name != f.stem, f.path))
    for f in files:
        doc = f.doc
        line, col = doc.position(("metadata", "name"))
        if f.name != f.stem:
            diags.error(f.path, line, col, "spec.name-mismatch",
                        f"metadata.name: {echo(f.name)} does not match the file name {echo(f.stem)} "
                        f"(rename the file to {echo(f.name + '.yaml', quote=False)} or the model to "
                        f"{echo(f.stem, quote=False)})")
        if f.name in seen:
            diags.error(f.path, line, col, "spec.duplicate-model",
                        f"metadata.name: model {echo(f.name)} is already declared in {seen[f.name]}")
        else:
            seen[f.name] = f.path
        known = list(config.environments)
        for env in doc.data["spec"].get("environments", {}):
            if env not in known:
                eline, ecol = doc.position(("spec", "environments", env), key=True)
                hint = difflib.get_close_matches(env, known, n=1, cutoff=0.5) if len(env) <= 253 else []
                suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
                diags.error(f.path, eline, ecol, "spec.unknown-environment",
                            f"spec.environments.{echo(env, quote=False)}: unknown environment {echo(env)}{suggestion}; "
                            f"{config.path} defines: {', '.join(known)}")
        _check_policy_exceptions(f, known, diags)


def _check_policy_exceptions(f: ModelFile, known: list[str], diags: Diagnostics) -> None:
    """`expires` is a real date; `environments` name environments of the config."""
    for i, waiver in enumerate(f.doc.data["spec"].get("policyExceptions", [])):
        where = ("spec", "policyExceptions", i)
        try:
            datetime.date.fromisoformat(waiver["expires"])
        except ValueError:
            line, col = f.doc.position(where + ("expires",))
            diags.error(f.path, line, col, "spec.schema",
                        f"{dotted(where + ('expires',))}: {echo(waiver['expires'])} is not a date (YYYY-MM-DD)")
        for j, env in enumerate(waiver.get("environments", [])):
            if env not in known:
                line, col = f.doc.position(where + ("environments", j))
                diags.error(f.path, line, col, "spec.unknown-environment",
                            f"{dotted(where + ('environments', j))}: unknown environment {echo(env)}; "
                            f"known: {', '.join(known)}")


def check_model_env(me: ModelEnv, diags: Diagnostics, config: Config) -> None:
    report = Reporter(me, diags)
    s = me.settings
    standard = s["mode"] == "standard"
    canary = s["canary"]
    canary_on = standard and canary["enabled"]

    # Framework, runtime, protocol, storage.
    fw = FRAMEWORKS.get(s["framework"])
    if fw and s["protocol"] not in fw.protocols and "runtime" not in s:
        report(("protocol",), "spec.protocol",
               f"{s['framework']} on {fw.runtime} serves protocol {' or '.join(fw.protocols)}, not {s['protocol']}")
    if s["framework"] == "custom":
        if not s.get("container", {}).get("image"):
            report(("container",) if "container" in s else ("framework",), "spec.custom-image",
                   "framework 'custom' needs container.image")
    elif "storageUri" not in s:
        report(("framework",), "spec.storage-uri", f"framework '{s['framework']}' needs storageUri")
    uri = s.get("storageUri", "")
    if uri.startswith("hf://") and len(uri[5:].split(":")[0].strip("/").split("/")) != 2:
        report(("storageUri",), "spec.storage-uri", f"{echo(uri)} must name exactly hf://<owner>/<model>[:revision]")
    for part in ("transformer", "explainer"):
        if part in s and not s[part].get("image"):
            report((part,), "spec.container-image", f"{part} needs an image")

    # Replicas and scaling.
    auto = s["autoscaling"]
    if auto["minReplicas"] > auto["maxReplicas"]:
        report(me.blame(("autoscaling", "minReplicas"), ("autoscaling", "maxReplicas")), "spec.replicas",
               f"minReplicas {auto['minReplicas']} is greater than maxReplicas {auto['maxReplicas']}")
    if standard and auto["minReplicas"] < 1:
        report(("autoscaling", "minReplicas"), "spec.replicas",
               "minReplicas 0 (scale to zero) needs mode: serverless; Standard mode keeps at least 1 replica")

    # Resources: a request above its limit is refused by the API server.
    res = s["resources"]
    for kind in ("cpu", "memory"):
        req, lim = res.get("requests", {}).get(kind), res.get("limits", {}).get(kind)
        if req is not None and lim is not None and None not in (quantity(req), quantity(lim)) \
                and quantity(req) > quantity(lim):
            report(me.blame(("resources", "requests", kind), ("resources", "limits", kind)), "spec.resources",
                   f"request {echo(req, quote=False)} is greater than the limit {echo(lim, quote=False)}")

    # Credentials are Secret references only.
    for base in (("env",), ("container", "env"), ("transformer", "env"), ("explainer", "env")):
        holder = s
        for key in base:
            holder = holder.get(key, {}) if isinstance(holder, dict) else {}
        for i, var in enumerate(holder or []):
            if ("value" in var) == ("secretKeyRef" in var):
                report(base + (i,), "spec.env", f"env {echo(var['name'])} needs exactly one of value or secretKeyRef")
            elif "value" in var and CREDENTIAL_NAME.search(var["name"]):
                report(base + (i, "value"), "spec.literal-credential",
                       f"env {echo(var['name'])} looks like a credential: use secretKeyRef, never a literal value")

    # Canary.
    if not standard and "canary" in me.file.doc.data["spec"] and _user_set(me, ("canary", "steps")):
        report(("canary", "steps"), "spec.mode",
               "canary steps need mode: standard (Argo Rollouts); serverless uses serverless.canaryTrafficPercent")
    if standard and s.get("serverless"):
        report(("serverless",), "spec.mode", "serverless settings need mode: serverless")
    weights = [step["weight"] for step in canary["steps"]]
    for i in range(1, len(weights)):
        if weights[i] <= weights[i - 1]:
            report(("canary", "steps", i, "weight"), "spec.canary-steps",
                   f"weight {weights[i]} does not increase (previous step: {weights[i - 1]})")
    if canary_on and canary["trafficRouting"] == "none" and weights:
        needed = math.ceil(100 / min(weights))
        if auto["minReplicas"] < needed and auto["minReplicas"] != auto["maxReplicas"] or auto["maxReplicas"] < needed:
            report(("autoscaling", "minReplicas"), "spec.canary-replicas",
                   f"a replica-based canary step of {min(weights)}% needs at least {needed} replicas to be accurate; "
                   f"with minReplicas {auto['minReplicas']} the first step sends more traffic "
                   "(raise minReplicas or use trafficRouting: istio)", WARNING)

    # SLOs.
    slo = s["slo"]
    source = slo["source"]
    if "availability" in slo and source not in AVAILABILITY_SOURCES:
        report(me.blame(("slo", "availability"), ("slo", "source")), "spec.slo-source",
               f"source '{source}' has no request counter with a status code, so it cannot measure availability "
               "(use source: istio or custom)")
    if source == "custom" and "custom" not in slo:
        report(("slo", "source"), "spec.slo-source", "source 'custom' needs slo.custom.errorQuery and totalQuery")
    if source not in SOURCES and slo.get("latency"):
        report(me.blame(("slo", "latency"), ("slo", "source")), "spec.slo-source",
               f"source '{source}' has no latency histogram, so it cannot measure latency objectives "
               "(use source: istio or kserve, or express latency as a custom availability SLI)")
    table = config.burn_rate_alerts
    longest = longest_window(table)
    if duration_seconds(slo["window"]) < duration_seconds(longest):
        report(("slo", "window"), "spec.slo-window",
               f"SLO window {echo(slo['window'], quote=False)} is shorter than the longest alert window {longest} "
               f"({config.path} monitoring.burnRateAlerts), so the budget could never be spent as the alerts assume; "
               f"use a window of at least {longest} (the default is 30d)")
    if "availability" in slo and (fast := fastest_burn(table)) * (100 - slo["availability"]) / 100 >= 1:
        report(("slo", "availability"), "spec.slo-target",
               f"availability {slo['availability']}% leaves an error budget so large that the {fast:g}x "
               "burn-rate alert can never fire", WARNING)
    for i, objective in enumerate(slo.get("latency", [])):
        _check_bucket(report, ("slo", "latency", i, "threshold"), objective["threshold"], source)
    percentiles = [o["percentile"] for o in slo.get("latency", [])]
    for i, p in enumerate(percentiles):
        if p in percentiles[:i]:
            report(("slo", "latency", i, "percentile"), "spec.slo-target", f"percentile {p:g} is listed twice")
    latency95 = canary["analysis"].get("latencyP95")
    if latency95:
        _check_bucket(report, ("canary", "analysis", "latencyP95"), latency95, "kserve")
    if canary_on and canary["analysis"]["enabled"] and not me.model.analysis_metrics():
        report(("canary",), "spec.canary-analysis",
               "canary has no automated analysis: set slo.availability or slo.latency (p95), or "
               "canary.analysis.successRate / latencyP95, or canary.analysis.enabled: false", WARNING)

    # Derived names.
    parts = ("predictor",) + tuple(p for p in ("transformer", "explainer") if p in s)
    for what, name in names.derived_names(me.name, me.env.namespace, parts, canary["trafficRouting"] == "istio"):
        if len(name) > names.MAX_LABEL:
            line, col = me.file.doc.position(("metadata", "name"))
            diags.add(Diagnostic(me.file.path, line, col, "spec.name-length", ERROR,
                                 f"metadata.name: derived {what} '{name}' is {len(name)} characters "
                                 f"(namespace {me.env.namespace}); the limit is {names.MAX_LABEL}"))


def _check_bucket(report: Reporter, path: tuple, threshold: str, source: str) -> None:
    if source not in SOURCES:
        return
    buckets = SOURCES[source].buckets
    value = seconds(threshold)
    if any(math.isclose(value, b) for b in buckets):
        return
    lower = max((b for b in buckets if b < value), default=None)
    upper = min((b for b in buckets if b > value), default=None)
    near = " and ".join(say_seconds(b) for b in (lower, upper) if b is not None)
    report(path, "spec.latency-bucket",
           f"{echo(threshold, quote=False)} is not a bucket boundary of the {source} latency histogram, so the SLI would "
           f"never match a bucket; nearest boundaries: {near}")


def _user_set(me: ModelEnv, path: tuple) -> bool:
    doc = me.file.doc
    return doc.has(("spec",) + path) or doc.has(("spec", "environments", me.env.name) + path)
