"""The published Model JSON Schema: current, complete, and true to the examples."""

from __future__ import annotations

import json

import jsonschema
import yaml

from conftest import REPO_ROOT
from mlgitops.yamlsource import load_yaml


def _published() -> dict:
    return json.loads((REPO_ROOT / "compiler/mlgitops/spec/model.schema.json").read_text())


def test_published_schema_is_regenerated_from_the_code():
    from mlgitops.modelfiles import schema_json

    assert (REPO_ROOT / "compiler/mlgitops/spec/model.schema.json").read_text() == schema_json(), \
        "run: mlgitops schema export -o compiler/mlgitops/spec/model.schema.json"


def test_schema_is_a_valid_draft7_schema_and_every_property_is_described():
    schema = _published()
    jsonschema.Draft7Validator.check_schema(schema)
    missing = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, child in node.get("properties", {}).items():
                if "description" not in child:
                    missing.append(f"{path}.{key}")
            for key, child in node.items():
                walk(child, f"{path}.{key}")
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, f"{path}[{i}]")

    walk(schema, "")
    assert missing == []


def test_every_example_model_validates_and_names_the_schema_for_editors():
    validator = jsonschema.Draft7Validator(_published())
    models = sorted((REPO_ROOT / "models").glob("*.yaml"))
    assert len(models) >= 4
    for path in models:
        text = path.read_text()
        assert text.startswith("# yaml-language-server: $schema=../compiler/mlgitops/spec/model.schema.json\n")
        # Loaded as mlgitops (and YAML 1.2 editors) load it: `2026-11-02` is a string, not a date.
        doc, problems = load_yaml(text, str(path))
        assert problems == []
        errors = [e.message for e in validator.iter_errors(doc.data)]
        assert errors == [], path


def test_schema_rejects_what_the_build_rejects():
    validator = jsonschema.Draft7Validator(_published())
    base = yaml.safe_load((REPO_ROOT / "models/iris.yaml").read_text())
    bad = json.loads(json.dumps(base))
    bad["spec"]["canary"]["steps"][0]["weight"] = 120
    bad["spec"]["autoscaling"]["minReplica"] = 1
    messages = sorted(e.message for e in validator.iter_errors(bad))
    assert len(messages) == 2 and any("120" in m for m in messages) and any("minReplica" in m for m in messages)


def test_generated_reference_sections_are_current():
    """docs/model-spec.md and docs/cli.md hold the generated sections (`make docs`), each section
    in exactly one page, every one current; the short README holds none."""
    from mlgitops.readme import PAGES, SECTIONS, render

    assert sorted(name for sections in PAGES.values() for name in sections) == sorted(SECTIONS)
    for page, sections in PAGES.items():
        text = (REPO_ROOT / page).read_text(encoding="utf-8")
        assert render(text, sections) == text, f"{page} is stale: run make docs"
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert not any(begin in readme for begin, _end, _make in SECTIONS.values())


def test_docs_check_mode_reports_a_stale_generated_section(tmp_path, monkeypatch, capsys):
    from mlgitops.readme import main

    page = tmp_path / "docs" / "model-spec.md"
    page.parent.mkdir()
    original = (REPO_ROOT / "docs" / "model-spec.md").read_text(encoding="utf-8")
    page.write_text(original.replace("| `metadata.team` |", "| `metadata.owner` |"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["--check", "docs/model-spec.md"]) == 1 and "stale" in capsys.readouterr().err
    assert main(["docs/model-spec.md"]) == 0 and page.read_text(encoding="utf-8") == original
    assert main(["--check", "docs/model-spec.md"]) == 0


def test_export_command_prints_the_published_schema(cli):
    result = cli("schema", "export")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == _published()
