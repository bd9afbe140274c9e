"""`mlgitops build`: golden output, idempotence, pruning, atomicity, drift checks."""

from __future__ import annotations

import json

import os
import shutil
import pathlib
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, copy_sources, tree_bytes

from mlgitops import overlays


def _shared_files(root: pathlib.Path) -> int:
    """The number of files of base/ and argocd/ the configuration of `root` gives."""
    from mlgitops.config import load_config
    from mlgitops.diagnostics import Diagnostics
    from mlgitops.expand.argocd import argocd_files
    from mlgitops.expand.base import base_files

    config = load_config(str(root), Diagnostics())
    assert config is not None
    return len(base_files(config)) + len(argocd_files(config))


def _overlays(root: pathlib.Path) -> dict[str, int]:
    """{overlay directory: its number of files} the sources of `root` give: kustomization.yaml,
    model.yaml and monitoring.yaml per model and environment; per model and cluster with overrides
    (overlays/<env>@<cluster>/<model>) the same three when an override applies to the model (e.g. its
    storage endpoint), else one kustomization.yaml referring to the environment's overlay."""
    from mlgitops import layout
    from mlgitops.config import load_config
    from mlgitops.diagnostics import Diagnostics
    from mlgitops.modelfiles import read_model_file, resolve
    from mlgitops.spec.model import cluster_variants, list_model_files

    config = load_config(str(root), Diagnostics())
    assert config is not None
    out = {}
    for rel in list_model_files(str(root)):
        file = read_model_file(str(root), rel, Diagnostics())
        assert file is not None, rel
        for me in resolve(file, config):
            model = pathlib.PurePosixPath(rel).stem
            out[layout.overlay_dir(me.env.name, model)] = 3
            own = {v.cluster.name for v in cluster_variants(me)}
            for cluster in me.env.overriding_clusters:
                out[layout.overlay_dir(me.env.name, model, cluster.name)] = 3 if cluster.name in own else 1
    return out


def _overlay_files(root: pathlib.Path) -> int:
    return sum(_overlays(root).values())


def test_committed_output_is_exactly_what_build_produces(repo, cli):
    code, report = cli.build_json(repo)
    assert code == 0, report["diagnostics"]
    assert tree_bytes(repo) == tree_bytes(REPO_ROOT)


def test_build_check_passes_on_the_committed_repository(cli):
    code, report = cli.build_json(REPO_ROOT, "--check")
    assert code == 0, report["diagnostics"]
    assert report["missing"] == report["stale"] == report["extra"] == []
    assert report["overlays"] == len(_overlays(REPO_ROOT))
    # the example's prod-eu cluster: churn (pulls from its own MinIO) compiled, the others referring to prod
    assert {d: n for d, n in _overlays(REPO_ROOT).items() if "@" in d} == {
        "overlays/prod@prod-eu/churn": 3, "overlays/prod@prod-eu/fraud": 1,
        "overlays/prod@prod-eu/iris": 1, "overlays/prod@prod-eu/sentiment": 1}


def test_second_build_writes_nothing_and_keeps_mtimes(repo, cli):
    assert cli.build_json(repo)[0] == 0
    stamps = {p: os.stat(repo / p).st_mtime_ns for p in tree_bytes(repo)}
    for extra in ((), ("--no-cache",)):
        code, report = cli.build_json(repo, *extra)
        assert code == 0
        assert report["written"] == [] and report["removed"] == []
        assert report["unchanged"] == len(stamps)
    assert {p: os.stat(repo / p).st_mtime_ns for p in tree_bytes(repo)} == stamps


def test_output_is_byte_identical_across_directories_and_hash_seeds(tmp_path):
    trees = []
    for i, seed in enumerate(("0", "12345")):
        root = copy_sources(tmp_path / (f"clone-{i}/nested/deeper" if i else f"clone-{i}"))
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO_ROOT / "compiler")}
        subprocess.run([sys.executable, "-m", "mlgitops", "build", "--repo", str(root), "--quiet"],
                       check=True, env=env)
        trees.append(tree_bytes(root))
    assert trees[0] == trees[1]
    assert len(trees[0]) == _overlay_files(root) + _shared_files(root)  # the overlays, base/ and argocd/
    assert {str(pathlib.PurePosixPath(p).parent) for p in trees[0] if p.startswith("overlays/")} == set(_overlays(root))


def test_output_does_not_depend_on_the_day(repo, cli, monkeypatch):
    """Waiver labels carry the expiry date whatever today is: an expired waiver changes no byte
    (policy check reports it), so a rebuild of an old commit gives the committed output."""
    for day in ("2020-01-01", "2099-12-31"):
        monkeypatch.setenv("MLGITOPS_TODAY", day)
        code, report = cli.build_json(repo, "--no-cache")
        assert code == 0, report["diagnostics"]
        assert tree_bytes(repo) == tree_bytes(REPO_ROOT)


def test_every_generated_file_names_its_source(repo, cli):
    assert cli.build_json(repo)[0] == 0
    for rel, content in tree_bytes(repo).items():
        first = content.split(b"\n", 1)[0].decode()
        assert first.startswith("# Generated by mlgitops from "), rel
        if rel.startswith("overlays/"):
            model = rel.split("/")[2]
            assert f"models/{model}.yaml" in first, rel
        else:
            assert "mlgitops.yaml" in first, rel


def test_deleting_a_model_removes_only_its_generated_files(repo, cli):
    assert cli.build_json(repo)[0] == 0
    mine = repo / "overlays/prod/iris/notes.md"
    mine.write_text("hand-written, not generated\n")
    (repo / "overlays/README.md").write_text("hand-written\n")
    before = tree_bytes(repo)
    (repo / "models/iris.yaml").unlink()
    code, report = cli.build_json(repo)
    assert code == 0, report["diagnostics"]
    after = tree_bytes(repo)
    removed = sorted(set(before) - set(after))
    assert removed == sorted(report["removed"])
    iris = tuple(d + "/" for d in _overlays(REPO_ROOT) if d.endswith("/iris"))
    assert len(iris) == 3  # prod, staging, and prod-eu's overlay referring to prod's
    assert removed and all(p.startswith(iris) for p in removed)
    assert {p.rsplit("/", 1)[0] + "/" for p in removed} == set(iris)
    assert mine.read_text() == "hand-written, not generated\n"
    assert (repo / "overlays/README.md").exists()
    assert not (repo / "overlays/staging/iris").exists()  # emptied generated directory is gone
    assert {p: after[p] for p in after} == {p: before[p] for p in after}


def test_a_file_mlgitops_did_not_generate_is_never_overwritten(repo, cli):
    assert cli.build_json(repo)[0] == 0
    target = repo / "overlays/prod/iris/model.yaml"
    target.write_text("# my own objects\n")
    before = tree_bytes(repo)
    (repo / "models/iris.yaml").write_text((repo / "models/iris.yaml").read_text().replace("maxReplicas: 10",
                                                                                           "maxReplicas: 12"))
    code, report = cli.build_json(repo)
    assert code == 1
    assert [(d["file"], d["rule"]) for d in report["diagnostics"]] == [("overlays/prod/iris/model.yaml",
                                                                        "build.not-generated")]
    assert tree_bytes(repo) == before


def test_invalid_model_writes_nothing(repo, cli):
    assert cli.build_json(repo)[0] == 0
    before = tree_bytes(repo)
    text = (repo / "models/churn.yaml").read_text()
    (repo / "models/churn.yaml").write_text(text.replace("maxReplicas: 6", "maxReplicas: 16"))
    (repo / "models/iris.yaml").write_text((repo / "models/iris.yaml").read_text().replace("weight: 75", "weight: 175"))
    code, report = cli.build_json(repo)
    assert code == 1
    assert [d["rule"] for d in report["diagnostics"]] == ["spec.schema"]
    assert tree_bytes(repo) == before  # churn's valid change was not written either


@pytest.mark.parametrize("threads_from", [10**6, 1], ids=["one-thread", "threads"])
def test_a_write_failing_part_way_leaves_the_previous_output_intact(repo, cli, monkeypatch, threads_from):
    # overlays.STAGE_THREADS_FROM: a full build stages its directories in several threads
    monkeypatch.setattr(overlays, "STAGE_THREADS_FROM", threads_from)
    assert cli.build_json(repo)[0] == 0
    before = tree_bytes(repo)
    # Change every overlay of iris, then make one temporary file impossible to create (a
    # directory sits where it would go): a real OS error in the middle of the write phase.
    text = (repo / "models/iris.yaml").read_text()
    (repo / "models/iris.yaml").write_text(text.replace("cpuUtilization: 70", "cpuUtilization: 65")
                                           .replace("team: ml-platform", "team: ml-serving"))
    # Directories are staged in path order: prod/iris first, then staging/iris, whose staging
    # directory cannot be made (a file sits where it would go).
    blocker = repo / "overlays/staging/.iris.mlgitops-new"
    blocker.write_text("in the way\n")
    result = cli.runner.invoke(__import__("mlgitops.cli", fromlist=["main"]).main,
                               ["build", "--repo", str(repo)])
    assert result.exit_code != 0
    blocker.unlink()
    assert tree_bytes(repo) == before
    leftovers = [p for p in repo.rglob("*.mlgitops-*")]
    assert leftovers == []
    assert cli.build_json(repo)[0] == 0  # and the next build goes through
    assert tree_bytes(repo) != before


@pytest.mark.parametrize("model", ["iris", "newmodel"], ids=["existing-overlay", "new-overlay"])
def test_a_file_a_killed_build_had_only_created_in_its_staging_is_cleaned_up(repo, cli, model):
    """Staging writes in several threads: a kill can leave a staged file created but empty, or
    with its generated header cut short. The next build removes that leftover (the file is not the
    user's) and converges, for an overlay that exists and for one that does not yet."""
    if model == "newmodel":
        (repo / "models/newmodel.yaml").write_text((repo / "models/iris.yaml").read_text()
                                                   .replace("name: iris", "name: newmodel"))
    assert cli.build_json(repo)[0] == 0
    expected = tree_bytes(repo)
    if model == "newmodel":
        shutil.rmtree(repo / "overlays/prod/newmodel")  # as before its first build
    staged = repo / "overlays/prod" / f".{model}.mlgitops-new"
    staged.mkdir()
    (staged / "model.yaml").write_bytes(b"")
    (staged / "monitoring.yaml").write_bytes(overlays.GENERATED_MARK.encode()[:9])
    checked = cli.runner.invoke(__import__("mlgitops.cli", fromlist=["main"]).main,
                                ["build", "--repo", str(repo), "--check", "-q"])
    assert checked.exit_code == 1 and "[build.leftover]" in checked.stderr
    assert cli.build_json(repo)[0] == 0
    assert not staged.exists() and tree_bytes(repo) == expected
    assert list(repo.rglob("*.mlgitops-*")) == []


def test_many_leftovers_are_listed_by_check_and_counted_once_cleaned(repo, cli):
    """A build killed while staging thousands of directories leaves as many leftovers: `build
    --check` names each (never commit one), the build that cleans them names the first
    LEFTOVERS_NAMED and counts the rest in one warning at the directory that holds them."""
    from mlgitops import pipeline
    from mlgitops.cli import main

    assert cli.build_json(repo)[0] == 0
    expected = tree_bytes(repo)
    names = [f"overlays/prod/.gone-{i:02d}.mlgitops-new" for i in range(pipeline.LEFTOVERS_NAMED + 3)]
    for rel in names:
        (repo / rel).mkdir()
        (repo / rel / "model.yaml").write_bytes(b"")  # a staged file a kill cut short
    checked = cli.runner.invoke(main, ["build", "--repo", str(repo), "--check", "--format", "json"])
    assert checked.exit_code == 1
    found = json.loads(checked.stdout)["diagnostics"]
    assert sorted(d["file"] for d in found if d["rule"] == "build.leftover") == names
    built = cli.runner.invoke(main, ["build", "--repo", str(repo), "--format", "json"])
    assert built.exit_code == 0, built.output
    warned = [(d["file"], d["message"]) for d in json.loads(built.stdout)["diagnostics"] if d["rule"] == "build.leftover"]
    assert sorted(warned) == [("overlays/prod", "3 more entries left behind by an interrupted 'mlgitops build' in "
                                                "this directory and below: cleaned up")] + [
        (rel, "left behind by an interrupted 'mlgitops build': cleaned up") for rel in names[:pipeline.LEFTOVERS_NAMED]]
    assert list(repo.rglob("*.mlgitops-*")) == [] and tree_bytes(repo) == expected


def test_a_users_file_left_in_a_staged_directory_is_moved_back_not_deleted(repo, cli):
    assert cli.build_json(repo)[0] == 0
    staged = repo / "overlays/prod/.iris.mlgitops-new"
    staged.mkdir()
    (staged / "notes.md").write_text("mine\n")  # not generated, not empty: the user's
    assert cli.build_json(repo)[0] == 0
    assert (repo / "overlays/prod/iris/notes.md").read_text() == "mine\n"
    assert not staged.exists()


def test_check_lists_stale_missing_and_extra_files_and_changes_nothing(repo, cli):
    assert cli.build_json(repo)[0] == 0
    (repo / "overlays/prod/iris/model.yaml").write_text(
        (repo / "overlays/prod/iris/model.yaml").read_text().replace("maxReplicas: 10", "maxReplicas: 11"))
    (repo / "overlays/prod/churn/monitoring.yaml").unlink()
    orphan = repo / "overlays/prod/ghost/kustomization.yaml"
    orphan.parent.mkdir()
    orphan.write_text("# Generated by mlgitops from models/ghost.yaml. Do not edit.\n")
    before = tree_bytes(repo)
    code, report = cli.build_json(repo, "--check")
    assert code == 1
    found = sorted((d["rule"], d["file"]) for d in report["diagnostics"])
    assert found == [("build.extra", "overlays/prod/ghost/kustomization.yaml"),
                     ("build.missing", "overlays/prod/churn/monitoring.yaml"),
                     ("build.stale", "overlays/prod/iris/model.yaml")]
    assert tree_bytes(repo) == before


def test_cache_never_hides_a_hand_edit_of_a_generated_file(repo, cli):
    assert cli.build_json(repo)[0] == 0
    path = repo / "overlays/prod/iris/model.yaml"
    original = path.read_bytes()
    path.write_bytes(original.replace(b"setWeight: 25", b"setWeight: 35"))
    code, report = cli.build_json(repo)
    assert code == 0
    assert report["written"] == ["overlays/prod/iris/model.yaml"]
    assert path.read_bytes() == original


def test_model_and_env_options_narrow_the_build(repo, cli):
    code, report = cli.build_json(repo, "--model", "iris", "--env", "prod")
    assert code == 0, report["diagnostics"]
    overlays = sorted({p.split("/")[1] + "/" + p.split("/")[2] for p in tree_bytes(repo, ("overlays",))})
    assert overlays == ["prod/iris", "prod@prod-eu/iris"]  # prod and the prod-eu cluster's overlay
    code, report = cli.build_json(repo, "--model", "nope")
    assert code == 2 and report["diagnostics"][0]["rule"] == "usage.unknown-model"


def test_disabling_an_environment_removes_that_overlay(repo, cli):
    assert cli.build_json(repo)[0] == 0
    text = (repo / "models/fraud.yaml").read_text()
    (repo / "models/fraud.yaml").write_text(text.replace("    staging:\n", "    staging:\n      enabled: false\n", 1))
    code, report = cli.build_json(repo)
    assert code == 0, report["diagnostics"]
    assert report["removed"] and all(p.startswith("overlays/staging/fraud/") for p in report["removed"])
    assert (repo / "overlays/prod/fraud/kustomization.yaml").exists()


def test_help_and_usage_errors(cli):
    for args in (["--help"], ["build", "--help"], ["schema", "--help"], ["schema", "export", "--help"]):
        result = cli(*args)
        assert result.exit_code == 0 and "Usage:" in result.output
    assert cli("build", "--bogus").exit_code == 2
    assert cli("build", "--repo", "/nonexistent/dir").exit_code == 2


def test_parallel_compilation_gives_the_same_bytes_and_findings(tmp_path, cli, monkeypatch):
    from mlgitops import pipeline

    template = (REPO_ROOT / "models/iris.yaml").read_text()
    trees, findings = [], []
    for mode, threshold in (("sequential", 10**9), ("parallel", 2)):
        root = copy_sources(tmp_path / mode)
        for i in range(12):
            text = template.replace("name: iris", f"name: iris-{i:02d}").replace("maxReplicas: 10", f"maxReplicas: {10 + i}")
            if i == 7:
                text = text.replace("threshold: 500ms", "threshold: 400ms")  # not a bucket boundary
            (root / "models" / f"iris-{i:02d}.yaml").write_text(text)
        monkeypatch.setattr(pipeline, "PARALLEL_MIN_MODELS", threshold)
        code, report = cli.build_json(root)
        findings.append((code, report["diagnostics"]))
        (root / "models/iris-07.yaml").unlink()
        code, report = cli.build_json(root)
        assert code == 0, report["diagnostics"]
        trees.append(tree_bytes(root))
    assert findings[0] == findings[1]
    assert findings[0][0] == 1 and [d["rule"] for d in findings[0][1]] == ["spec.latency-bucket"]
    assert trees[0] == trees[1] and len(trees[0]) == _overlay_files(root) + _shared_files(root)
    assert len(_overlays(root)) == (4 + 11) * 3  # prod, staging and prod@prod-eu
