"""What a process remembers of the files it reads again and again, keyed by their bytes:
mlgitops.yaml (config.load_config) and the model files the source map reads to locate findings
(validate/sourcemap.py). An edited file is never answered from memory."""

from __future__ import annotations

import pathlib

from conftest import copy_sources

from mlgitops import config, contain
from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from mlgitops.validate import sourcemap


def test_the_config_is_parsed_once_per_text_and_read_anew_when_edited(tmp_path: pathlib.Path):
    config._PARSED.clear()  # the memo holds a few texts; other tests' configs may have filled it
    repo = copy_sources(tmp_path / "repo")
    config_file = repo / "mlgitops.yaml"
    text = config_file.read_text()
    first = load_config(str(repo), Diagnostics())
    assert first is not None and load_config(str(repo), Diagnostics()) is first
    default_limit = contain.limit("model")

    config_file.write_text(text + "limits:\n  modelFileMiB: 3\n")
    limited = load_config(str(repo), Diagnostics())
    assert limited is not None and limited is not first
    assert contain.limit("model") == 3 * contain.MIB

    config_file.write_text(text)  # the first text again: remembered, and its (default) limits applied again
    assert load_config(str(repo), Diagnostics()) is first
    assert contain.limit("model") == default_limit
    config_file.write_text(text + "limits:\n  modelFileMiB: 3\n")
    assert load_config(str(repo), Diagnostics()) is limited and contain.limit("model") == 3 * contain.MIB

    # A broken config: its findings come with every load, remembered or not.
    config_file.write_text(text.replace("kind: Config", "kind: Config\nkind: Twice", 1))
    for _ in range(2):
        diags = Diagnostics()
        assert load_config(str(repo), diags) is None
        assert [d.rule for d in diags] == ["yaml.duplicate-key"]
    config_file.write_text(text)
    load_config(str(repo), Diagnostics())  # leave the defaults configured for the next test


def test_the_source_map_reads_a_model_again_only_when_its_bytes_changed(tmp_path: pathlib.Path):
    repo = copy_sources(tmp_path / "repo")
    first = sourcemap._read_model(str(repo), "models/iris.yaml")
    assert first is not None and sourcemap._read_model(str(repo), "models/iris.yaml") is first
    model = repo / "models" / "iris.yaml"
    model.write_text(model.read_text().replace("maxReplicas: 10", "maxReplicas: 12", 1))
    edited = sourcemap._read_model(str(repo), "models/iris.yaml")
    assert edited is not None and edited is not first and b"maxReplicas: 12" in edited.text
    model.write_text("kind: [\n")  # broken: the build reports it; nothing to locate findings in
    assert sourcemap._read_model(str(repo), "models/iris.yaml") is None
    model.unlink()
    assert sourcemap._read_model(str(repo), "models/iris.yaml") is None
