"""`mlgitops diff`: rendered objects of a git revision against the working tree, with real git."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess

import pytest

from conftest import copy_sources

IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]


def git(repo: pathlib.Path, *args: str) -> str:
    done = subprocess.run(["git", *IDENTITY, *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit_all(repo: pathlib.Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def gitrepo(tmp_path: pathlib.Path) -> pathlib.Path:
    """The example repository with its output committed on main, checked out on branch 'feature'."""
    repo = copy_sources(tmp_path / "repo", with_output=True)
    git(repo, "init", "-q", "-b", "main")
    commit_all(repo, "example repository")
    git(repo, "checkout", "-q", "-b", "feature")
    return repo


def build(cli, repo: pathlib.Path) -> None:
    result = cli("build", "--repo", str(repo), "--quiet")
    assert result.exit_code == 0, result.output


def diff_json(cli, repo: pathlib.Path, *args: str) -> tuple[int, dict]:
    result = cli("diff", "--repo", str(repo), "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def objects(report: dict) -> list[tuple[str, str, str, str, str]]:
    """(unit path, object status, kind, namespace, name) of every object change."""
    return sorted((m["path"], o["status"], o["kind"], o["namespace"], o["name"])
                  for m in report["models"] for o in m["objects"])


def set_max_replicas(repo: pathlib.Path, value: int) -> None:
    iris = repo / "models" / "iris.yaml"
    text = iris.read_text()
    assert "    maxReplicas: 10\n" in text
    iris.write_text(text.replace("    maxReplicas: 10\n", f"    maxReplicas: {value}\n"))


def overlays_of(repo: pathlib.Path, model: str, envs: tuple[str, ...] = ()) -> list[str]:
    """overlays/<env>/<model> of every environment (or `envs`) of mlgitops.yaml, and
    overlays/<env>@<cluster>/<model> of each cluster with overrides: the units diff reports for a
    model changed in those environments (a cluster's overlay, even one that only refers to the
    environment's, deploys the changed objects to its cluster too), in the diff's order."""
    from mlgitops import layout
    from mlgitops.config import load_config
    from mlgitops.diagnostics import Diagnostics

    config = load_config(str(repo), Diagnostics())
    assert config is not None
    return sorted(layout.overlay_dir(e.name, model, c) for e in config.environments.values()
                  if not envs or e.name in envs for c in ("", *(c.name for c in e.overriding_clusters)))


def hpa_changes(repo: pathlib.Path) -> list[tuple[str, str, str, str, str]]:
    """The one object change of iris's maxReplicas (staging overrides it) in every prod overlay."""
    prod = overlays_of(repo, "iris", ("prod",))
    assert len(prod) == 2  # prod, and the prod-eu cluster's overlay referring to it
    return [(path, "changed", "HorizontalPodAutoscaler", "ml-prod", "iris") for path in prod]


def add_model(repo: pathlib.Path, name: str) -> None:
    text = (repo / "models" / "iris.yaml").read_text()
    (repo / "models" / f"{name}.yaml").write_text(text.replace("name: iris", f"name: {name}"))


def test_no_changes_is_an_empty_summary(cli, gitrepo):
    code, report = diff_json(cli, gitrepo)
    assert code == 0
    assert report["changes"] is False and report["models"] == [] and report["errors"] == 0
    assert report["summary"]["models"] == {"added": 0, "changed": 0, "removed": 0}
    assert report["base"]["commit"] == git(gitrepo, "rev-parse", "main")
    assert cli("diff", "--repo", str(gitrepo), "--exit-code").exit_code == 0
    text = cli("diff", "--repo", str(gitrepo)).stdout
    assert "no changes" in text and "---" not in text


def test_a_changed_max_replicas_changes_exactly_that_hpa(cli, gitrepo):
    set_max_replicas(gitrepo, 12)  # staging overrides maxReplicas to 1: only prod renders differently
    build(cli, gitrepo)
    code, report = diff_json(cli, gitrepo)
    assert code == 0
    assert objects(report) == hpa_changes(gitrepo)
    assert [(m["model"], m["env"], m["status"]) for m in report["models"]] == \
        [("iris", "prod", "changed"), ("iris", "prod@prod-eu", "changed")]
    for model in report["models"]:
        assert model["kinds"] == {"HorizontalPodAutoscaler": {"added": 0, "changed": 1, "removed": 0}}
        patch = model["objects"][0]["diff"]
        assert [line for line in patch.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))] == \
            ["-  maxReplicas: 10", "+  maxReplicas: 12"]
    assert cli("diff", "--repo", str(gitrepo), "--exit-code").exit_code == 1


def test_text_output_is_a_table_then_unified_diffs(cli, gitrepo):
    set_max_replicas(gitrepo, 12)
    build(cli, gitrepo)
    result = cli("diff", "--repo", str(gitrepo))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("mlgitops diff base: merge base of HEAD and main (")
    assert lines[1].split() == ["MODEL", "ENV", "STATUS", "+", "~", "-", "KINDS"]
    assert lines[2].split() == ["iris", "prod", "changed", "0", "1", "0", "HorizontalPodAutoscaler", "~1"]
    assert "--- a/overlays/prod/iris: HorizontalPodAutoscaler ml-prod/iris" in lines
    assert "\x1b[" not in result.stdout  # not a terminal: no colour
    coloured = cli("diff", "--repo", str(gitrepo), "--color").stdout
    assert "\x1b[32m+  maxReplicas: 12" in coloured


def test_an_added_model_adds_only_its_objects(cli, gitrepo):
    add_model(gitrepo, "digits")
    build(cli, gitrepo)
    code, report = diff_json(cli, gitrepo)
    assert code == 0
    units = overlays_of(gitrepo, "digits")
    assert [(m["path"], m["status"]) for m in report["models"]] == [(u, "added") for u in units]
    changes = objects(report)
    assert changes and {status for _, status, *_ in changes} == {"added"}
    assert all(name.startswith("digits") for *_, name in changes)
    assert report["summary"]["models"] == {"added": len(units), "changed": 0, "removed": 0}
    from mlgitops.kustomize.engine import render_objects

    for unit in units:  # every object of the new overlays, and nothing else
        expected = len(render_objects(str(gitrepo / unit), repo_root=str(gitrepo)))
        assert expected and sum(1 for path, *_ in changes if path == unit) == expected


def test_a_removed_model_removes_only_its_objects(cli, gitrepo):
    (gitrepo / "models" / "churn.yaml").unlink()
    build(cli, gitrepo)
    code, report = diff_json(cli, gitrepo)
    assert code == 0
    assert [(m["path"], m["status"]) for m in report["models"]] == \
        [(u, "removed") for u in overlays_of(gitrepo, "churn")]
    changes = objects(report)
    assert changes and {status for _, status, *_ in changes} == {"removed"}
    assert all(o["diff"].splitlines()[1] == "+++ /dev/null" for m in report["models"] for o in m["objects"])


def test_the_markdown_comment_is_a_table_then_one_collapsed_block_per_model(cli, gitrepo):
    set_max_replicas(gitrepo, 12)
    add_model(gitrepo, "digits")
    build(cli, gitrepo)
    result = cli("diff", "--repo", str(gitrepo), "--format", "markdown")
    assert result.exit_code == 0
    text = result.stdout
    assert text.startswith("### mlgitops diff\n")
    table = text.index("| Model | Env | Status | + | ~ | - | Kinds |")
    assert table < text.index("<details>")
    assert "| iris | prod | changed | 0 | 1 | 0 | HorizontalPodAutoscaler ~1 |" in text
    summaries = re.findall(r"<details><summary>(.*?)</summary>", text)
    blocks = len(overlays_of(gitrepo, "digits")) + len(overlays_of(gitrepo, "iris", ("prod",)))
    assert len(summaries) == blocks and text.count("</details>") == blocks
    assert "iris (prod): +0 ~1 -0" in summaries and "iris (prod@prod-eu): +0 ~1 -0" in summaries
    assert any(s.startswith("digits (prod): +") and s.endswith("(model added)") for s in summaries)
    assert text.count("```diff\n") == blocks
    for block in re.findall(r"<details>.*?</details>", text, re.S):  # each block: summary, blank line, fence
        assert re.fullmatch(r"<details><summary>[^\n]*</summary>\n\n```diff\n.*\n```\n\n"
                            r"(_Diff truncated: \d+ more line\(s\)[^\n]*_\n\n)?</details>", block, re.S)


def test_markdown_caps_long_diffs(cli, gitrepo):
    from mlgitops.diff import format_markdown, run_diff

    add_model(gitrepo, "digits")
    build(cli, gitrepo)
    result = run_diff(str(gitrepo))
    capped = format_markdown(result, max_lines=5)
    units = overlays_of(gitrepo, "digits")
    assert capped.count("_Diff truncated:") == len(units)
    assert all(len(block.split("```diff\n")[1].split("```")[0].splitlines()) == 5
               for block in re.findall(r"<details>.*?</details>", capped, re.S))
    small = format_markdown(result, max_chars=len(format_markdown(result, max_chars=0)) + 10)
    left_out = ", ".join(f"digits ({u.split('/')[1]})" for u in units)
    assert left_out == "digits (prod), digits (prod@prod-eu), digits (staging)"
    assert "<details>" not in small and f"the diffs of {left_out} are left out" in small


def test_the_base_defaults_to_the_merge_base_with_the_default_branch(cli, gitrepo):
    set_max_replicas(gitrepo, 12)
    build(cli, gitrepo)
    commit_all(gitrepo, "iris: up to 12 replicas")
    git(gitrepo, "checkout", "-q", "main")  # main moves on: churn is removed there
    (gitrepo / "models" / "churn.yaml").unlink()
    build(cli, gitrepo)
    commit_all(gitrepo, "remove churn")
    git(gitrepo, "checkout", "-q", "feature")
    fork = git(gitrepo, "merge-base", "main", "feature")
    code, report = diff_json(cli, gitrepo)
    assert code == 0 and report["base"] == {"ref": "merge base of HEAD and main", "commit": fork}
    assert objects(report) == hpa_changes(gitrepo)
    code, report = diff_json(cli, gitrepo, "--base", "main")  # main's tip: churn comes back
    assert report["base"]["commit"] == git(gitrepo, "rev-parse", "main")
    assert [(m["path"], m["status"]) for m in report["models"]] == \
        [(u, "added") for u in overlays_of(gitrepo, "churn")] + [(u, "changed") for u, *_ in hpa_changes(gitrepo)]


def test_the_working_tree_index_and_head_are_untouched(cli, gitrepo):
    set_max_replicas(gitrepo, 12)
    build(cli, gitrepo)
    git(gitrepo, "add", "models/iris.yaml")
    before = (git(gitrepo, "status", "--porcelain"), git(gitrepo, "rev-parse", "HEAD"),
              (gitrepo / "models" / "iris.yaml").read_bytes())
    assert diff_json(cli, gitrepo)[0] == 0
    assert (git(gitrepo, "status", "--porcelain"), git(gitrepo, "rev-parse", "HEAD"),
            (gitrepo / "models" / "iris.yaml").read_bytes()) == before


def test_a_render_error_is_a_finding_naming_the_file(cli, gitrepo):
    kust = gitrepo / "overlays" / "staging" / "iris" / "kustomization.yaml"
    kust.write_text(kust.read_text() + "bogus: [\n")
    code, report = diff_json(cli, gitrepo)
    assert code == 1 and report["errors"] == 1
    assert report["diagnostics"][0]["file"] == "overlays/staging/iris/kustomization.yaml"
    assert [(m["path"], m["status"], m["objects"]) for m in report["models"]] == \
        [("overlays/staging/iris", "error", [])]  # not "every object removed"
    result = cli("diff", "--repo", str(gitrepo), "--format", "markdown")
    assert result.exit_code == 1 and "**Render errors**" in result.stdout
    assert "overlays/staging/iris/kustomization.yaml:" in result.stderr


def test_a_render_error_in_the_base_revision_says_so(cli, gitrepo):
    git(gitrepo, "checkout", "-q", "main")
    kust = gitrepo / "overlays" / "prod" / "iris" / "kustomization.yaml"
    good = kust.read_text()
    kust.write_text(good + "bogus: [\n")
    commit_all(gitrepo, "broken")
    kust.write_text(good)
    code, report = diff_json(cli, gitrepo, "--base", "HEAD")
    assert code == 1
    (finding,) = report["diagnostics"]
    assert finding["file"] == "overlays/prod/iris/kustomization.yaml"
    assert finding["message"].startswith("in the base revision (HEAD, ")


def test_a_repository_in_a_subdirectory_of_the_git_work_tree(cli, tmp_path):
    top = tmp_path / "mono"
    repo = copy_sources(top / "ml" / "gitops", with_output=True)
    (top / "README").write_text("other projects live here\n")
    git(top, "init", "-q", "-b", "master")
    commit_all(top, "monorepo")
    set_max_replicas(repo, 12)
    build(cli, repo)
    code, report = diff_json(cli, repo)
    assert code == 0 and report["base"]["ref"] == "merge base of HEAD and master"
    assert objects(report) == hpa_changes(repo)


def test_argocd_objects_are_compared_too(cli, gitrepo):
    appset = gitrepo / "argocd" / "applicationsets" / "prod.yaml"
    appset.write_text(appset.read_text().replace("selfHeal: true", "selfHeal: false", 1))
    code, report = diff_json(cli, gitrepo)
    assert code == 0
    assert objects(report) == [("argocd", "changed", "ApplicationSet", "argocd", "mlgitops-prod")]
    assert cli("diff", "--repo", str(gitrepo), "--format", "markdown").stdout.count("<summary>argocd/: +0 ~1 -0") == 1


def test_git_problems_are_usage_errors(cli, gitrepo, tmp_path):
    result = cli("diff", "--repo", str(gitrepo), "--base", "no-such-branch")
    assert result.exit_code == 2 and "unknown git revision 'no-such-branch'" in result.stderr
    assert "Traceback" not in result.output
    plain = copy_sources(tmp_path / "plain")
    code, report = diff_json(cli, plain)
    assert code == 2 and report["diagnostics"][0]["rule"] == "usage.git"
    assert "not inside a git work tree" in report["diagnostics"][0]["message"]


def test_help_has_examples(cli):
    result = cli("diff", "--help")
    assert result.exit_code == 0 and "Examples:" in result.stdout and "--base" in result.stdout
