"""`mlgitops init [DIR]`: the scaffolded repository passes the whole gate at once.

Everything runs for real: git, `mlgitops build` and `mlgitops check` as processes (strict schemas
from the vendored schemas/), make, pre-commit, and, once (slow), a wheel built from this source
tree installed with pip into a clean venv, whose `mlgitops init demo && cd demo && mlgitops build
&& mlgitops check` must pass. Expected values come from the options given and from this
repository's own files (policies/, schemas/, .pre-commit-hooks.yaml), never from a copy.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import jsonschema
import pytest
import yaml

from gitrepo import GIT_ENV, sh
from test_workflows import SHA_PIN, _Yaml12Loader, workflow_schema
from tooling import REPO_ROOT, actionlint, require_tool

from mlgitops import __version__
from mlgitops.scaffold import bundled_tree

VENV_BIN = REPO_ROOT / ".venv" / "bin"
# the tools on PATH as common test runs have them; no CI (strictness must come from mlgitops.yaml)
BASE_ENV = {k: v for k, v in os.environ.items() if k != "CI"} | GIT_ENV | {
    "PATH": f"{REPO_ROOT / '.tools' / 'bin'}:{VENV_BIN}:{os.environ.get('PATH', '')}"}


def run(cwd: pathlib.Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), cwd=cwd, env=env or BASE_ENV, capture_output=True, text=True)


def mlgitops(cwd: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    return run(cwd, str(VENV_BIN / "mlgitops"), *args)


def files_under(root: pathlib.Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


def init(cli, directory: pathlib.Path, *args: str):
    return cli("init", str(directory), "--yes", *args)


def assert_gate_passes(repo: pathlib.Path) -> str:
    built = mlgitops(repo, "build")
    assert built.returncode == 0, built.stderr
    checked = mlgitops(repo, "check")
    assert checked.returncode == 0, checked.stderr
    assert "0 error(s)" in checked.stderr and "Skipped: 0" in checked.stderr, checked.stderr
    return checked.stderr


def test_init_then_build_and_check_pass_strictly(cli, tmp_path):
    repo = tmp_path / "platform"
    result = init(cli, repo)
    assert result.exit_code == 0, result.output
    assert f"cd {repo} && mlgitops build && mlgitops check" in result.stdout
    sh(repo, "init", "-q", "-b", "main")
    report = assert_gate_passes(repo)
    config = yaml.safe_load((repo / "mlgitops.yaml").read_text())
    # every environment of the config was built, and the policy tests ran
    assert list(config["environments"]) == ["dev", "staging", "prod"]
    assert all((repo / "overlays" / env / "iris").is_dir() for env in config["environments"])
    assert "policy test:" in report and " failed" not in report
    # strict schemas come from mlgitops.yaml (CI is unset here): a custom kind without its vendored
    # schema is an error, not a skipped object
    shutil.rmtree(repo / "schemas" / "serving.kserve.io")
    shutil.rmtree(repo / "schemas" / "serving.kserve.io-strict")
    checked = mlgitops(repo, "check")
    assert checked.returncode == 1 and "[schema.missing]" in checked.stderr, checked.stderr


def test_flags_shape_the_config_and_the_gate_still_passes(cli, tmp_path):
    repo = tmp_path / "custom"
    url, server = "https://github.com/acme/ml-models.git", "https://prod.k8s.acme.example:6443"
    result = init(cli, repo, "--repo-url", url, "--env", "qa", "--env", "prod", "--cluster", f"prod={server}",
                  "--namespace-prefix", "acme-")
    assert result.exit_code == 0, result.output
    config = yaml.safe_load((repo / "mlgitops.yaml").read_text())
    assert config["argocd"]["repoURL"] == url
    assert config["environments"] == {"qa": {"namespace": "acme-qa", "server": "https://kubernetes.default.svc"},
                                      "prod": {"namespace": "acme-prod", "server": server}}
    params = yaml.safe_load((repo / "policies" / "params" / "namespace-environment.yaml").read_text())
    assert params["data"] == {"qa": "acme-qa", "prod": "acme-prod"}
    # the Makefile's targets run the gate (make from PATH; mlgitops from the venv)
    make = require_tool("make", "apt-get install make")
    done = run(repo, make, "build", "check", f"MLGITOPS={VENV_BIN / 'mlgitops'}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 error(s)" in done.stderr
    assert sorted(p.name for p in (repo / "overlays").iterdir()) == ["prod", "qa"]


def test_a_terminal_is_asked_for_what_no_option_gives(tmp_path):
    """stdin a real pseudo-terminal: init prompts for the URL, the environments and their clusters."""
    import pty

    master, slave = pty.openpty()
    answers = "https://github.com/acme/m.git\nstaging prod\n\nhttps://prod.acme.example\n"
    os.write(master, answers.encode())
    try:
        done = subprocess.run([str(VENV_BIN / "mlgitops"), "init", "asked"], cwd=tmp_path, env=BASE_ENV, stdin=slave,
                              capture_output=True, text=True, timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "API server of the prod cluster" in done.stdout
    config = yaml.safe_load((tmp_path / "asked" / "mlgitops.yaml").read_text())
    assert config["argocd"]["repoURL"] == "https://github.com/acme/m.git"
    assert {env: c["server"] for env, c in config["environments"].items()} == {
        "staging": "https://kubernetes.default.svc", "prod": "https://prod.acme.example"}
    # --yes never prompts, even on a terminal
    master, slave = pty.openpty()
    try:
        done = subprocess.run([str(VENV_BIN / "mlgitops"), "init", "quiet", "--yes"], cwd=tmp_path, env=BASE_ENV,
                              stdin=slave, capture_output=True, text=True, timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    assert done.returncode == 0 and "[" not in done.stdout.splitlines()[0], done.stdout


@pytest.mark.parametrize("args, message", [
    (("--env", "staging"), "must be named 'prod'"),
    (("--env", "prod", "--cluster", "staging=https://x"), "unknown environment: staging"),
    (("--cluster", "prod"), "is not ENV=SERVER"),
    (("--env", "Prod_1", "--env", "prod"), "is not a DNS label"),
])
def test_usage_errors_write_nothing(cli, tmp_path, args, message):
    result = init(cli, tmp_path / "r", *args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "r").exists()


def test_a_directory_that_cannot_be_written_is_a_usage_error(cli, tmp_path):
    (tmp_path / "afile").write_text("x\n")
    result = init(cli, tmp_path / "afile" / "sub")
    assert result.exit_code == 2 and "cannot write" in result.output and "Not a directory" in result.output
    assert init(cli, tmp_path / "afile").exit_code == 2


def test_refuses_an_existing_repository_and_force_only_fills_in(cli, tmp_path):
    repo = tmp_path / "r"
    assert init(cli, repo).exit_code == 0
    (repo / "mlgitops.yaml").write_text((repo / "mlgitops.yaml").read_text() + "# ours\n")
    (repo / "policies" / "canary-steps.yaml").unlink()
    (repo / "notes.txt").write_text("not mlgitops'\n")
    before = files_under(repo)
    refused = init(cli, repo)
    assert refused.exit_code == 1
    assert "mlgitops.yaml" in refused.stderr and "nothing was written" in refused.stderr
    assert files_under(repo) == before
    # one scaffold file is enough to refuse
    other = tmp_path / "other"
    (other / ".github" / "workflows").mkdir(parents=True)
    (other / ".github" / "workflows" / "mlgitops.yml").write_text("name: ours\n")
    refused = cli("init", str(other), "--yes", "--format", "json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["existing"] == [".github/workflows/mlgitops.yml"]
    assert files_under(other) == {".github/workflows/mlgitops.yml": b"name: ours\n"}
    # --force writes only the missing file and keeps every existing one byte for byte
    forced = cli("init", str(repo), "--yes", "--force", "--format", "json")
    assert forced.exit_code == 0, forced.output
    listing = json.loads(forced.stdout)
    assert listing["written"] == ["policies/canary-steps.yaml"]
    after = files_under(repo)
    assert {k: v for k, v in after.items() if k != "policies/canary-steps.yaml"} == before
    assert after["policies/canary-steps.yaml"] == (REPO_ROOT / "policies" / "canary-steps.yaml").read_bytes()
    assert "mlgitops.yaml" in listing["kept"] and "notes.txt" not in listing["kept"]


def test_format_json_lists_exactly_the_files_written(cli, tmp_path):
    repo = tmp_path / "r"
    result = cli("init", str(repo), "--yes", "--format", "json")
    assert result.exit_code == 0
    listing = json.loads(result.stdout)
    assert listing["directory"] == str(repo) and listing["kept"] == [] and listing["existing"] == []
    assert listing["written"] == sorted(files_under(repo))
    # the bundled trees are this repository's, whatever they hold: every schema and its lock
    schemas = files_under(REPO_ROOT / "schemas")
    assert {f"schemas/{k}": v for k, v in schemas.items()}.items() <= files_under(repo).items()
    assert "schemas/schemas.lock" in listing["written"] and "schemas/SOURCE.md" in listing["written"]
    policies = {p.name for p in (REPO_ROOT / "policies").glob("*.yaml")}
    assert {p.name for p in (repo / "policies").glob("*.yaml")} == policies
    assert {p.name for p in (repo / "policies" / "tests").glob("*.yaml")} == policies


def test_bundled_trees_are_the_repositorys():
    for top in ("policies", "schemas"):
        assert bundled_tree(top) == {f"{top}/{k}": v for k, v in files_under(REPO_ROOT / top).items()}


def test_workflow_is_valid_pinned_and_runs_the_gate(cli, tmp_path):
    assert init(cli, tmp_path / "r").exit_code == 0
    workflow = yaml.load((tmp_path / "r" / ".github" / "workflows" / "mlgitops.yml").read_text(),
                         Loader=_Yaml12Loader)
    jsonschema.Draft7Validator(workflow_schema()).validate(workflow)
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    assert all(SHA_PIN.match(step["uses"]) for step in steps if "uses" in step)
    assert actionlint(tmp_path / "r" / ".github" / "workflows" / "mlgitops.yml") == []
    runs = [step["run"] for step in steps if "run" in step]
    assert f"python -m pip install --quiet mlgitops=={__version__}" in runs
    assert any(r.startswith("mlgitops build --check") for r in runs)
    assert any(r.startswith("mlgitops check") for r in runs)


def test_pre_commit_hooks_are_mlgitops_and_catch_a_stale_build(cli, tmp_path):
    repo = tmp_path / "r"
    assert init(cli, repo).exit_code == 0
    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())
    published = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    hooks = config["repos"][0]["hooks"]
    assert [h["id"] for h in hooks] == [h["id"] for h in published]
    assert [h["entry"] for h in hooks] == [h["entry"] for h in published]
    # the real pre-commit: the built, committed repository passes; a model changed without
    # rebuilding is caught by mlgitops-build-check
    sh(repo, "init", "-q", "-b", "main")
    assert mlgitops(repo, "build").returncode == 0
    sh(repo, "add", "-A")
    sh(repo, "commit", "-q", "-m", "init")
    env = BASE_ENV | {"PRE_COMMIT_COLOR": "never", "PRE_COMMIT_HOME": str(tmp_path / "cache")}
    done = run(repo, sys.executable, "-m", "pre_commit", "run", "--all-files", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    model = repo / "models" / "iris.yaml"
    model.write_text(model.read_text().replace("maxReplicas: 8", "maxReplicas: 9"))
    sh(repo, "add", "-A")
    done = run(repo, sys.executable, "-m", "pre_commit", "run", env=env)
    assert done.returncode == 1
    assert "build.stale" in done.stdout, done.stdout


@pytest.mark.slow
def test_wheel_installs_and_its_init_passes_the_gate(tmp_path):
    """The real path of a platform team: pip install the wheel, init, build, check (about a minute)."""
    # build from a copy of the sources: an in-tree build leaves build/ behind, whose stale files
    # would reach later wheels
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(REPO_ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in ("compiler", "policies", "schemas", "models"):
        shutil.copytree(REPO_ROOT / name, src / name, symlinks=True, ignore=ignore)
    wheels = tmp_path / "wheels"
    env = BASE_ENV | {"PIP_CONSTRAINT": str(REPO_ROOT / "requirements.lock")}
    # built by the locked setuptools of .venv (what pip's isolated build environment would install
    # first, from the same lock)
    done = run(tmp_path, str(VENV_BIN / "pip"), "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels),
               str(src), env=env)
    assert done.returncode == 0, done.stderr
    [wheel] = wheels.glob("mlgitops-*.whl")
    with zipfile.ZipFile(wheel) as archive:  # the wheel carries copies of the bundled trees
        for top in ("policies", "schemas"):
            inside = {n.removeprefix(f"mlgitops/scaffold/{top}/"): archive.read(n) for n in archive.namelist()
                      if n.startswith(f"mlgitops/scaffold/{top}/")}
            assert inside == files_under(REPO_ROOT / top)
    venv = tmp_path / "venv"
    # a clean venv, and the wheel installed into it by the locked pip of .venv (`pip --python`): the
    # venv's own pip would be the interpreter's bundled one (ensurepip, an older pip, 3 s of CPU)
    done = run(tmp_path, sys.executable, "-m", "venv", "--without-pip", str(venv))
    assert done.returncode == 0, done.stderr
    done = run(tmp_path, str(VENV_BIN / "pip"), "--python", str(venv / "bin" / "python"), "install", "-q",
               "-c", str(REPO_ROOT / "requirements.lock"), str(wheel), env=env)
    assert done.returncode == 0, done.stderr
    # only the new venv and the real tools: not this repository's .venv
    user_env = BASE_ENV | {"PATH": f"{venv / 'bin'}:{REPO_ROOT / '.tools' / 'bin'}:/usr/bin:/bin"}
    script = "mlgitops init demo --yes && cd demo && mlgitops build && mlgitops check"
    done = run(tmp_path, "bash", "-c", script, env=user_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 error(s)" in done.stderr and "Skipped: 0" in done.stderr, done.stderr
    assert (tmp_path / "demo" / "overlays" / "prod" / "iris").is_dir()
