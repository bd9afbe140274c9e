"""Containment (issue #12): nothing outside the repository is ever read, and no input can make
mlgitops block, run out of memory or write outside its scratch directory.

Every test uses real files, symbolic links and FIFOs and the real CLI; each checks the exact
located finding and its rule, exit code 1, no traceback, and that the content of the file
outside the repository (a secret marker) appears nowhere in the output.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import copy_sources
from tooling import without_section
from gitrepo import commit_all, use_git_env
from tooling import REPO_ROOT, require_tool

from hostile_inputs import CONFIGMAP, LEAK_POLICY, SECRET

MLGITOPS = str(pathlib.Path(sys.executable).with_name("mlgitops"))

LINK = "leads outside the repository through a symbolic link; refusing to read it [input.outside-repo]"


def lines(result) -> list[str]:
    return (result.stdout + result.stderr).splitlines()


def assert_refused(result, *expected: str) -> None:
    out = result.stdout + result.stderr
    assert result.exit_code == 1, out
    assert "Traceback" not in out
    assert SECRET not in out
    for line in expected:
        assert line in lines(result), out


@pytest.fixture
def outside(tmp_path: pathlib.Path) -> pathlib.Path:
    """A directory next to the repository (never inside it) holding secrets."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "secret.yaml").write_text(CONFIGMAP)
    return directory


@pytest.fixture
def built(tmp_path: pathlib.Path) -> pathlib.Path:
    """A copy of the example repository with its generated output and its policies."""
    repo = copy_sources(tmp_path / "repo", with_output=True)
    shutil.copytree(REPO_ROOT / "policies", repo / "policies")
    return repo


def leak_policies(repo: pathlib.Path, test_file: str) -> None:
    """policies/ holding only the `leak` policy and the test file given."""
    shutil.rmtree(repo / "policies", ignore_errors=True)
    (repo / "policies/tests").mkdir(parents=True)
    (repo / "policies/leak.yaml").write_text(LEAK_POLICY)
    (repo / "policies/tests/leak.yaml").write_text(test_file)


# --- models --------------------------------------------------------------------------------------

def test_a_model_file_linked_outside_is_refused_and_the_other_models_are_still_checked(cli, repo, outside):
    (outside / "model.yaml").write_text(f"apiVersion: mlgitops.dev/v1alpha1\nkind: Model\n{SECRET}: 1\n")
    (repo / "models/evil.yaml").symlink_to(outside / "model.yaml")
    text = (repo / "models/iris.yaml").read_text()
    (repo / "models/iris.yaml").write_text(text.replace("weight: 75", "weight: 175"))
    result = cli("build", "--repo", str(repo))
    assert_refused(result, f"models/evil.yaml: error: {LINK}")
    assert any(line.startswith("models/iris.yaml:") and "[spec.schema]" in line for line in lines(result))


def test_a_models_directory_linked_outside_is_refused(cli, repo, outside):
    shutil.copytree(repo / "models", outside / "models")
    (outside / "models/leak.yaml").write_text(f"{SECRET}: 1\n")
    shutil.rmtree(repo / "models")
    (repo / "models").symlink_to(outside / "models")
    result = cli("build", "--repo", str(repo))
    assert_refused(result, f"models: error: {LINK}")
    assert not (repo / "overlays").exists()


def test_a_model_linked_to_dev_zero_is_refused_at_once(repo):
    (repo / "models/zero.yaml").symlink_to("/dev/zero")
    proc = subprocess.run([MLGITOPS, "build", "--repo", str(repo)], capture_output=True, text=True, timeout=20)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"models/zero.yaml: error: {LINK}" in (proc.stdout + proc.stderr).splitlines()


def test_a_fifo_model_is_refused_without_blocking(repo):
    os.mkfifo(repo / "models/fifo.yaml")
    proc = subprocess.run([MLGITOPS, "build", "--repo", str(repo)], capture_output=True, text=True, timeout=20)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert ("models/fifo.yaml: error: is a FIFO (named pipe), not a regular file; refusing to read it "
            "[input.not-regular-file]") in (proc.stdout + proc.stderr).splitlines()


@pytest.mark.parametrize("rel", ["overlays/prod/iris/model.yaml", "base/components/common/kustomization.yaml",
                                 "argocd/root-project.yaml"])
@pytest.mark.parametrize("command", [["build"], ["build", "--check"], ["check"]], ids=["build", "build-check", "check"])
def test_a_fifo_where_a_generated_file_goes_is_refused_without_blocking(built, rel, command):
    """Build and check compare the files on disk with what the models compile to: a FIFO there
    (no writer) is not ours, and is never waited on."""
    (built / rel).unlink()
    os.mkfifo(built / rel)
    proc = subprocess.run([MLGITOPS, *command, "--repo", str(built)], capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out, out
    assert f"{rel}:1:1: error: " in out and "[build.not-generated]" in out, out


def test_a_50_mb_model_is_refused_by_its_size_without_reading_it(cli, repo):
    with open(repo / "models/big.yaml", "wb") as fh:
        fh.write(b"apiVersion: mlgitops.dev/v1alpha1\n")
        fh.truncate(50 * 2**20)
    started = time.perf_counter()
    result = cli("build", "--repo", str(repo))
    assert time.perf_counter() - started < 5
    assert_refused(result, "models/big.yaml: error: file is 50.0 MiB, over the 1 MiB limit for a model file "
                           "(limits.modelFileMiB in mlgitops.yaml) [input.too-large]")


def test_the_model_size_limit_is_configurable(cli, repo):
    with open(repo / "models/big.yaml", "wb") as fh:
        fh.write(b"apiVersion: mlgitops.dev/v1alpha1\n")
        fh.truncate(3 * 2**20)
    config = repo / "mlgitops.yaml"
    config.write_text(config.read_text() + "limits:\n  modelFileMiB: 2\n")
    result = cli("build", "--repo", str(repo))
    assert_refused(result, "models/big.yaml: error: file is 3.0 MiB, over the 2 MiB limit for a model file "
                           "(limits.modelFileMiB in mlgitops.yaml) [input.too-large]")


def test_a_nul_byte_is_reported_at_its_line_and_column(cli, repo):
    text = (repo / "models/iris.yaml").read_text().split("\n")
    before = len("\n".join(text[:4])) + 1
    text[4] = "ab\x00" + text[4]
    (repo / "models/iris.yaml").write_text("\n".join(text))
    result = cli("build", "--repo", str(repo))
    assert_refused(result, f"models/iris.yaml:5:3: error: file contains a NUL byte (at byte {before + 2}): "
                           "not a text file [input.encoding]")


def test_a_non_utf8_mlgitops_yaml_is_a_located_finding(cli, repo):
    config = repo / "mlgitops.yaml"
    raw = config.read_bytes().replace(b"kind: Config", b"kind: Conf\xefig", 1)
    config.write_bytes(raw)
    at = raw.index(b"\xef")
    line = raw[:at].count(b"\n") + 1
    result = cli("build", "--repo", str(repo))
    assert_refused(result, f"mlgitops.yaml:{line}:11: error: file is not UTF-8: invalid continuation byte at "
                           f"byte {at} [input.encoding]")


def test_a_symbolic_link_inside_the_repository_keeps_working(cli, repo):
    (repo / "shared").mkdir()
    (repo / "models/iris.yaml").rename(repo / "shared/iris.yaml")
    (repo / "models/iris.yaml").symlink_to("../shared/iris.yaml")
    result = cli("build", "--repo", str(repo))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert (repo / "overlays/prod/iris/kustomization.yaml").is_file()


def test_symbolic_link_loops_and_directories_named_like_models_are_located_refusals(cli, repo):
    (repo / "models/loop.yaml").symlink_to("loop.yaml")
    (repo / "models/a.yaml").symlink_to("b.yaml")
    (repo / "models/b.yaml").symlink_to("a.yaml")
    (repo / "models/dir.yaml").mkdir()
    result = cli("build", "--repo", str(repo))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    loop = "error: is a symbolic link that loops back on itself; refusing to read it [input.not-regular-file]"
    assert [line for line in lines(result) if ": error: " in line] == [
        f"models/a.yaml: {loop}", f"models/b.yaml: {loop}",
        "models/dir.yaml: error: is a directory, not a regular file; refusing to read it [input.not-regular-file]",
        f"models/loop.yaml: {loop}"]
    assert not (repo / "overlays").exists()


# --- policies ------------------------------------------------------------------------------------

def test_a_policy_file_linked_outside_is_refused(cli, built, outside):
    (built / "policies/evil.yaml").symlink_to(outside / "secret.yaml")
    result = cli("policy", "test", "--repo", str(built))
    assert_refused(result, f"policies/evil.yaml: error: {LINK}")


def test_a_policy_test_file_linked_outside_is_refused(cli, built, outside):
    (built / "policies/tests/evil.yaml").symlink_to(outside / "secret.yaml")
    result = cli("policy", "test", "--repo", str(built))
    assert_refused(result, f"policies/tests/evil.yaml: error: {LINK}")


def test_a_non_utf8_policy_file_is_positioned(cli, built):
    (built / "policies/latin.yaml").write_bytes(b"apiVersion: admissionregistration.k8s.io/v1\n"
                                                b"kind: Validating\xe9\n")
    result = cli("policy", "test", "--repo", str(built))
    assert_refused(result, "policies/latin.yaml:2:17: error: file is not UTF-8: invalid continuation byte "
                           "at byte 60 [input.encoding]")


def test_a_policy_test_case_file_outside_the_repository_is_refused(cli, repo, outside):
    leak_policies(repo, "policy: leak\ncases:\n- name: steal\n  expect: pass\n"
                        "  file: ../../../outside/secret.yaml\n")
    result = cli("policy", "test", "--repo", str(repo))
    assert_refused(result, "policies/tests/leak.yaml:5:9: error: leak: case 'steal': file: "
                           "../../../outside/secret.yaml is outside the repository; refusing to read it "
                           "[input.outside-repo]")


def test_a_policy_test_case_file_linked_outside_is_refused(cli, repo, outside):
    (repo / "leak.yaml").symlink_to(outside / "secret.yaml")
    leak_policies(repo, "policy: leak\ncases:\n- name: steal\n  expect: pass\n  file: ../../leak.yaml\n")
    result = cli("policy", "test", "--repo", str(repo))
    assert_refused(result, "policies/tests/leak.yaml:5:9: error: leak: case 'steal': file: ../../leak.yaml "
                           f"{LINK}")


@pytest.mark.parametrize("escape", ["absolute", "relative", "newline"])
def test_an_inline_model_name_cannot_write_outside_the_scratch_directory(cli, repo, tmp_path, monkeypatch,
                                                                         escape):
    scratch_parent = tmp_path / "tmp"
    scratch_parent.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_parent))
    # the scratch repository is <tmp>/mlgitops-policy-test-XXX/0: ../../../ leaves <tmp>
    target = tmp_path / "pwned.yaml"
    name = {"absolute": str(tmp_path / "pwned"), "relative": "../../../pwned", "newline": "pwned\n"}[escape]
    quoted = f"'{name}'" if escape != "newline" else '"pwned\\n"'  # YAML double quotes read \n as a newline
    model = (REPO_ROOT / "models/iris.yaml").read_text().replace("name: iris", f"name: {quoted}", 1)
    indented = "".join(f"    {line}\n" for line in model.splitlines())
    leak_policies(repo, f"policy: leak\ncases:\n- name: write\n  expect: pass\n  env: prod\n  model:\n{indented}")
    model_lines = model.splitlines()
    line = 7 + next(i for i, text in enumerate(model_lines) if f"name: {quoted}" in text)
    col = 5 + model_lines[line - 7].index(quoted[0])
    result = cli("policy", "test", "--repo", str(repo))
    assert_refused(result, f"policies/tests/leak.yaml:{line}:{col}: error: leak: case 'write': model: metadata.name "
                           f"{name!r} is not a DNS-1123 label (lowercase letters, digits and '-', starting and "
                           "ending with a letter or digit, at most 63 characters) [policy.test-invalid]")
    assert not target.exists()
    assert not (tmp_path / "repo/pwned.yaml").exists()


# --- validate, render, diff ----------------------------------------------------------------------

def test_an_argocd_file_linked_outside_is_refused_by_validate_and_check(cli, built, outside):
    (built / "argocd/evil.yaml").symlink_to(outside / "secret.yaml")
    result = cli("validate", "--repo", str(built), "--no-strict-schemas")
    assert_refused(result, f"argocd/evil.yaml: error: {LINK}")
    result = cli("check", "--repo", str(built), "--no-strict-schemas")
    assert_refused(result, f"argocd/evil.yaml: error: {LINK}")


def test_a_kustomization_linked_outside_is_refused_by_render_and_validate(cli, built, outside):
    kust = built / "overlays/prod/iris/kustomization.yaml"
    (outside / "kustomization.yaml").write_text(kust.read_text() + f"commonAnnotations: {{leak: {SECRET}}}\n")
    kust.unlink()
    kust.symlink_to(outside / "kustomization.yaml")
    expected = f"overlays/prod/iris/kustomization.yaml: error: {LINK}"
    assert_refused(cli("render", str(built / "overlays/prod/iris"), "--repo", str(built)), expected)
    assert_refused(cli("validate", str(built / "overlays/prod/iris"), "--repo", str(built)), expected)


def test_a_resource_linked_outside_is_refused_by_render_and_validate(cli, built, outside):
    resource = built / "overlays/prod/iris/monitoring.yaml"
    (outside / "monitoring.yaml").write_text(resource.read_text().replace("metadata:\n", f"metadata:\n  annotations: "
                                                                          f"{{leak: {SECRET}}}\n", 1))
    resource.unlink()
    resource.symlink_to(outside / "monitoring.yaml")
    kust = (built / "overlays/prod/iris/kustomization.yaml").read_text().splitlines()
    line = 1 + kust.index("- monitoring.yaml")
    expected = (f"overlays/prod/iris/kustomization.yaml:{line}:3: error: resource 'monitoring.yaml' is a symbolic "
                "link that leads outside the repository [input.outside-repo]")
    assert_refused(cli("render", str(built / "overlays/prod/iris"), "--repo", str(built)), expected)
    assert_refused(cli("validate", str(built / "overlays/prod/iris"), "--repo", str(built)), expected)


def test_diff_does_not_show_a_file_linked_outside(cli, built, outside, monkeypatch):
    use_git_env(monkeypatch)
    commit_all(built, "base")
    (built / "argocd/evil.yaml").symlink_to(outside / "secret.yaml")
    result = cli("diff", "--repo", str(built), "--base", "main")
    assert_refused(result, f"argocd/evil.yaml: error: {LINK}")


def test_schema_locations_in_mlgitops_yaml_stay_in_the_repository(cli, built, outside):
    (outside / "configmap-v1.json").write_text('{"description": "%s", "type": "object"}' % SECRET)
    config = built / "mlgitops.yaml"
    base = without_section(config.read_text(), "validation")
    line = base.count("\n") + 3
    config.write_text(base + f"validation:\n  schemaLocations:\n  - {outside}/{{{{ .ResourceKind }}}}-v1.json\n")
    result = cli("validate", "--repo", str(built), "--no-strict-schemas")
    assert_refused(result, f"mlgitops.yaml:{line}:5: error: validation.schemaLocations[0] is outside the repository: "
                           "mlgitops.yaml may only name schema locations inside the repository or its schema cache; "
                           "pass other locations on the command line (mlgitops validate --schema-location PATH) "
                           "[input.outside-repo]")
    config.write_text(base + "validation:\n  schemaLocations:\n  - http://127.0.0.1:9/{{ .ResourceKind }}.json\n")
    result = cli("validate", "--repo", str(built), "--no-strict-schemas")
    assert_refused(result, f"mlgitops.yaml:{line}:5: error: validation.schemaLocations[0] is a URL: mlgitops.yaml may "
                           "only name schema locations inside the repository; pass a URL on the command line "
                           "instead (mlgitops validate --schema-location URL, as kubeconform -schema-location) "
                           "[input.remote-schema]")


def _schemas_linked_outside(built: pathlib.Path, outside: pathlib.Path) -> None:
    """mlgitops.yaml names a schema directory that is a link out, holding a schema with the secret."""
    (outside / "configmap-v1.json").write_text('{"description": "%s", "type": "string"}' % SECRET)
    (built / "myschemas").symlink_to(outside)
    (built / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    config = built / "mlgitops.yaml"
    config.write_text(without_section(config.read_text(), "validation") + "validation:\n  schemaLocations:\n"
                      "  - myschemas/{{ .ResourceKind }}-{{ .ResourceAPIVersion }}.json\n")


def test_a_schema_directory_linked_outside_is_not_read(cli, built, outside):
    _schemas_linked_outside(built, outside)
    result = cli("validate", "--repo", str(built), str(built / "cm.yaml"))
    out = result.stdout + result.stderr
    assert result.exit_code == 1 and SECRET not in out and "Traceback" not in out
    assert ("cm.yaml:1:1: error: ConfigMap a: myschemas/configmap-v1.json: schema leads outside the repository "
            "through a symbolic link; refusing to read it [input.outside-repo]") in lines(result), out


@pytest.mark.parametrize("engine", ["kubeconform", "both"])
def test_kubeconform_is_not_run_over_a_schema_linked_outside(cli, built, outside, engine):
    """kubeconform reads local schema files itself, following links: every file it could read is
    held to the same containment first, and it is not run when one leads out."""
    kubeconform = require_tool("kubeconform", "make tools")
    _schemas_linked_outside(built, outside)
    result = cli("validate", "--repo", str(built), str(built / "cm.yaml"), "--engine", engine,
                 "--kubeconform", kubeconform)
    out = result.stdout + result.stderr
    assert result.exit_code == 1 and SECRET not in out and "Traceback" not in out
    assert ("myschemas/configmap-v1.json: error: schema leads outside the repository through a symbolic link; "
            "refusing to read it; kubeconform would read it, so it is not run [input.outside-repo]") in lines(result), out


def test_contain_bounds_a_device_that_never_ends():
    from mlgitops import contain

    with pytest.raises(contain.ContainmentError) as exc:
        contain.read_bytes(None, "/dev/zero", "model")
    assert exc.value.rule == "input.not-regular-file"
    assert exc.value.message == "is a character device, not a regular file; refusing to read it"
