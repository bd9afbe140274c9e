"""The GitOps loop end to end with real git (issue #6's proof): a pull request adds a model.

In a temporary repository made from the example (without fraud), committed on main: on a branch,
`models/fraud.yaml` arrives with a schema error, then with a policy violation; `mlgitops check
--format github` exits 1 with annotations at the right lines of models/fraud.yaml each time; once
fixed, check passes; `diff --base main` shows fraud's objects and nothing else; `build --commit`
makes one commit with exactly fraud's generated files, a second makes none; deleting the model and
rebuilding removes exactly its files. The Argo CD simulation passes at every clean step.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil

import pytest
import yaml

from conftest import copy_sources
from mlgitops import layout
from mlgitops.config import load_config
from mlgitops.diagnostics import Diagnostics
from gitrepo import commit_all, use_git_env
from gitrepo import sh as git
from test_argocd_simulation import simulate
from tooling import REPO_ROOT

FRAUD = (REPO_ROOT / "models" / "fraud.yaml").read_text()


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture
def repo(tmp_path: pathlib.Path, monkeypatch, cli) -> pathlib.Path:
    use_git_env(monkeypatch)
    monkeypatch.setenv("MLGITOPS_TODAY", "2026-11-23")
    root = copy_sources(tmp_path / "repo")
    shutil.copytree(REPO_ROOT / "policies", root / "policies")
    _drop_policy_cases_about_fraud(root / "policies" / "tests")
    (root / "models" / "fraud.yaml").unlink()
    assert cli("build", "--repo", str(root), "--quiet").exit_code == 0
    commit_all(root, "the platform without fraud")
    git(root, "checkout", "-q", "-b", "add-fraud")
    return root


def _drop_policy_cases_about_fraud(tests: pathlib.Path) -> None:
    """A platform repository without fraud has no policy test cases that read fraud's overlays."""
    for path in sorted(tests.glob("*.yaml")):
        docs = list(yaml.safe_load_all(path.read_text()))
        for doc in docs:
            doc["cases"] = [c for c in doc["cases"] if "/fraud" not in str(c.get("file", ""))]
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def check(cli, repo: pathlib.Path, fmt: str = "json"):
    # as `make check`: strict schemas from mlgitops.yaml, the committed schemas/ through `default`
    return cli("check", "--repo", str(repo), "--format", fmt)


def annotations(output: str) -> list[tuple[str, str, int, str]]:
    """(level, file, line, rule) of every GitHub workflow command."""
    found = []
    for line in output.splitlines():
        m = re.match(r"::(error|warning|notice) file=([^,]+),line=(\d+),col=\d+,title=([^:]+)::", line)
        if m:
            found.append((m[1], m[2], int(m[3]), m[4]))
    return found


def test_a_pull_request_adding_a_model(cli, repo):
    fraud = repo / "models" / "fraud.yaml"
    assert simulate(repo, revision="HEAD") == []

    # 1. a schema error in the new model file: annotated at its line, nothing built
    broken = FRAUD.replace("targetConcurrency: 8", "targetConcurrency: lots", 1)
    fraud.write_text(broken)
    result = check(cli, repo, "github")
    assert result.exit_code == 1
    errors = [a for a in annotations(result.stdout) if a[0] == "error"]
    assert errors == [("error", "models/fraud.yaml", line_of(broken, "targetConcurrency"), "spec.schema")]
    assert simulate(repo, revision=None) == []  # nothing was built: Argo CD sees the platform as it was

    # 2. schema fixed, a policy violation instead (a bucket not on the allow-list), built: annotated at storageUri
    violating = FRAUD.replace("oci://registry.example.com/models/fraud:3.2.0", "s3://scratch-bucket/fraud/3.2.0")
    fraud.write_text(violating)
    assert cli("build", "--repo", str(repo), "--quiet").exit_code == 0
    result = check(cli, repo, "github")
    assert result.exit_code == 1
    errors = {a for a in annotations(result.stdout) if a[0] == "error"}
    assert errors == {("error", "models/fraud.yaml", line_of(violating, "storageUri"), "policy.storage-uri-allowlist")}
    assert simulate(repo, revision=None) == []  # a policy violation, but what Argo CD would render is sound

    # 3. fixed: check passes, Argo CD is happy with the working tree
    fraud.write_text(FRAUD)
    assert cli("build", "--repo", str(repo), "--quiet").exit_code == 0
    result = check(cli, repo)
    assert result.exit_code == 0, result.stdout
    assert simulate(repo, revision=None) == []

    # 4. diff against main: fraud's objects, added, and nothing else
    diff = json.loads(cli("diff", "--repo", str(repo), "--base", "main", "--format", "json").stdout)
    text = json.dumps(diff)
    assert "fraud" in text and not any(m in text for m in ('"iris"', '"churn"', '"sentiment"'))
    kinds_added = cli("diff", "--repo", str(repo), "--base", "main").stdout
    assert "fraud" in kinds_added and "iris" not in kinds_added

    # 5. build --commit: one commit with exactly fraud's generated files; a second one commits nothing
    before = int(git(repo, "rev-list", "--count", "HEAD"))
    result = cli("build", "--repo", str(repo), "--commit", "--format", "json")
    assert result.exit_code == 0, result.stdout
    assert int(git(repo, "rev-list", "--count", "HEAD")) == before + 1
    committed = sorted(git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD").split())
    # fraud's overlays: one per environment, and one per cluster with overrides (prod-eu's refers to prod's)
    config = load_config(str(repo), Diagnostics())
    overlays = {layout.overlay_dir(e.name, "fraud", c) for e in config.environments.values()
                for c in ("", *(c.name for c in e.overriding_clusters))}
    assert overlays == {"overlays/prod/fraud", "overlays/prod@prod-eu/fraud", "overlays/staging/fraud"}
    assert committed and {p.rsplit("/", 1)[0] for p in committed} == overlays
    assert committed == sorted(str(p.relative_to(repo)) for p in (repo / "overlays").glob("*/fraud/*"))
    result = cli("build", "--repo", str(repo), "--commit", "--format", "json")
    assert result.exit_code == 0 and int(git(repo, "rev-list", "--count", "HEAD")) == before + 1
    assert simulate(repo, revision="HEAD") == []

    # 6. the model file committed too, then deleted: rebuilding removes exactly its generated files
    git(repo, "add", "models/fraud.yaml")
    git(repo, "commit", "-q", "-m", "fraud model")
    fraud.unlink()
    result = cli("build", "--repo", str(repo), "--commit", "--format", "json")
    assert result.exit_code == 0, result.stdout
    removed = sorted(git(repo, "diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD").split())
    assert removed == committed
    assert not list((repo / "overlays").glob("*/fraud"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "remove the fraud model")
    assert git(repo, "status", "--porcelain") == ""
    assert simulate(repo, revision="HEAD") == []
