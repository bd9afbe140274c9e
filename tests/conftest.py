"""Shared fixtures: a throw-away copy of the example repository and a CLI runner."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import sys

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from tooling import REPO_ROOT  # noqa: E402

GENERATED_ROOTS = ("argocd", "base", "overlays")

# The Go programs the tests judge by (promtool, kubectl, kubeconform, kube-apiserver, etcd, ...) run
# about 1,500 times in a session, beside the other xdist worker's: with Go's defaults (a collection
# at every doubling of the heap, GC workers on every core) their runtime takes 15-40% of their CPU.
# A larger heap target and one core each change no output and no verdict, only that share (measured
# on the 2-core VM: promtool's scenarios -24% CPU, kubectl kustomize -30%, the API server tests
# -33%). Values set in the environment win. (treegen.py runs its own kubectl with GOGC=off.)
for _name, _value in (("GOGC", "400"), ("GOMAXPROCS", "1")):
    os.environ.setdefault(_name, _value)


def copy_sources(dest: pathlib.Path, with_output: bool = False) -> pathlib.Path:
    """Copy mlgitops.yaml, models/ and the committed CRD schemas (mlgitops.yaml validates
    strictly against them), and optionally the committed output, into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "mlgitops.yaml", dest / "mlgitops.yaml")
    shutil.copytree(REPO_ROOT / "models", dest / "models")
    shutil.copytree(REPO_ROOT / "schemas", dest / "schemas")
    if with_output:
        for top in GENERATED_ROOTS:
            shutil.copytree(REPO_ROOT / top, dest / top)
    return dest


def merge_config(text: str, extra: str) -> str:
    """mlgitops.yaml `text` with the YAML mapping `extra` merged in (mappings merged key by key,
    anything else replaced), e.g. a test's storage endpoints beside the example's own: appending
    would repeat a top-level key the example may already have. Mappings merge down to a section's
    entries (`storage.endpoints.<name>`), which `extra` replaces whole. Comments are not kept."""
    import yaml

    def merge(base, more, depth=0):
        # sections and their maps merge (e.g. storage.endpoints gains the test's endpoints); one
        # level deeper a value replaces (a test's endpoint `minio` replaces the example's `minio`)
        if isinstance(base, dict) and isinstance(more, dict) and depth < 3:
            return {**base, **{k: merge(base.get(k), v, depth + 1) for k, v in more.items()}}
        return more

    return yaml.safe_dump(merge(yaml.safe_load(text), yaml.safe_load(extra)), sort_keys=False)


def tree_bytes(root: pathlib.Path, tops=GENERATED_ROOTS) -> dict[str, bytes]:
    """Every file under the generated roots, by repo-relative path."""
    out = {}
    for top in tops:
        base = root / top
        if base.exists():
            for path in sorted(base.rglob("*")):
                if path.is_file():
                    out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


@pytest.fixture
def repo(tmp_path: pathlib.Path) -> pathlib.Path:
    """A copy of the example repository's sources, without generated output."""
    return copy_sources(tmp_path / "repo")


class Cli:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str):
        from mlgitops.cli import main

        return self.runner.invoke(main, list(args), catch_exceptions=False)

    def build_json(self, root: pathlib.Path, *args: str) -> tuple[int, dict]:
        result = self("build", "--repo", str(root), "--format", "json", *args)
        return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups (--dist loadgroup)
def pytest_collection_modifyitems(config, items):
    """`make test` runs pytest-xdist with --dist loadgroup: a test goes to whichever worker is free
    (the workers stay busy to the end), except that tests sharing a fixture made once go to one
    worker together: those of a module that share its module-, class- or session-scoped fixture
    (a corpus, a built repository), and those of a shared conftest fixture, e.g. every test of the
    real API server (`apiserver`: etcd, kube-apiserver and the upstream CRDs, some 20 s of CPU to
    start, started once). A test marked xdist_group keeps its own group."""
    for item in items:
        group = _group(item)
        if group and getattr(config.option, "loadgroup", False):  # set on xdist workers
            _join(item, group)


def _group(item) -> str | None:
    marker = item.get_closest_marker("xdist_group")
    if marker:
        return str(marker.args[0] if marker.args else marker.kwargs.get("name", "default"))
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    shared = [defs[-1] for defs in info.name2fixturedefs.values()
              if defs and defs[-1].scope != "function" and defs[-1].baseid]  # baseid "": pytest's own
    conftest = sorted(d.argname for d in shared if not d.baseid.endswith(".py"))
    if conftest:
        return conftest[0]
    return item.nodeid.split("::", 1)[0] if shared else None


def _join(item, group: str) -> None:
    """What pytest-xdist does for an xdist_group mark (the scheduler reads the group from the test's
    id, `<nodeid>@<group>`), done here: xdist 3.8 sets `item._nodeid`, which pytest 9 no longer
    reads (its id is `item._id`), so its own marks would group nothing."""
    if "@" in item.nodeid.rsplit("]", 1)[-1]:  # already grouped (an xdist that works with this pytest)
        return
    if hasattr(item, "_id"):
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(f"{item.nodeid}@{group}")
    else:
        item._nodeid = f"{item.nodeid}@{group}"


class SharedCluster:
    """The session's API server (fixture `apiserver`): a kubeapi.Cluster started at once, stopped by
    pytest_runtest_teardown after the last test that uses it, and started anew if a test uses it
    after that (another test order). Attributes are the running Cluster's."""

    running: list["SharedCluster"] = []  # those of this process, for pytest_runtest_teardown

    def __init__(self, start) -> None:
        self._start = start  # () -> a started kubeapi.Cluster
        self._cluster = None

    def ensure(self):
        """The running Cluster (started if it is not)."""
        if self._cluster is None:
            self._cluster = self._start()
            SharedCluster.running.append(self)
        return self._cluster

    def __getattr__(self, name: str):
        return getattr(self.ensure(), name)

    def stop(self) -> None:
        if self._cluster is not None:
            cluster, self._cluster = self._cluster, None
            SharedCluster.running.remove(self)
            cluster.cleanup()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last test that uses the API server (fixture `apiserver`) and its own teardown, the
    server stops: its three processes would otherwise idle until the session ends, still taking CPU
    from the tests. "Last": the next test does not use it, nor does any later one (without xdist:
    the rest of the session's items; under --dist loadgroup, its tests are one group, sent to one
    worker together; under another --dist, the session's end)."""
    result = yield
    if SharedCluster.running and "apiserver" in item.fixturenames and _last_user(item, nextitem, "apiserver"):
        for shared in list(SharedCluster.running):
            shared.stop()
    return result


def _last_user(item, nextitem, name: str) -> bool:
    if nextitem is not None and name in nextitem.fixturenames:
        return False
    config = item.config
    if hasattr(config, "workerinput"):  # an xdist worker: it gets tests in batches, only a group is whole
        return bool(getattr(config.option, "loadgroup", False))
    items = item.session.items
    later = items[items.index(nextitem):] if nextitem is not None and nextitem in items else []
    return not any(name in later_item.fixturenames for later_item in later)


APISERVER_HINT = "run `make tools` (builds etcd, kube-apiserver and kube-controller-manager into .tools/bin)"


@pytest.fixture(scope="session")
def apiserver():
    """A real kube-apiserver v1.36.3 (etcd, and kube-controller-manager's service-account and
    root-CA controllers; its admission-policy status controller in Cluster.policy_type_checking())
    with the upstream CRDs of ../shared/crds installed and an inert binding that keeps ConfigMap
    parameters of admission policies live (kubeapi.Cluster.keep_param_informers); one per test
    session, stopped as soon as the last test that uses it is done (SharedCluster). Yields a
    SharedCluster, whose attributes are the running kubeapi.Cluster's: its `client` sends requests.
    Skips locally when the binaries or ../shared are missing, fails under CI=true."""
    import subprocess

    from kubeapi import K8S_VERSION, TOOLS_CRD_FILES, Cluster
    from tooling import _missing as missing
    from tooling import require_shared, require_tool

    binaries = {name: require_tool(name, APISERVER_HINT)
                for name in ("etcd", "kube-apiserver", "kube-controller-manager")}
    for name in ("kube-apiserver", "kube-controller-manager"):
        version = subprocess.run([binaries[name], "--version"], capture_output=True, text=True).stdout.strip()
        if version != f"Kubernetes {K8S_VERSION}":
            pytest.fail(f"{binaries[name]} is {version!r}, the tests need {K8S_VERSION}: {APISERVER_HINT}",
                        pytrace=False)
    tools_crds = REPO_ROOT / ".tools" / "crds"
    for name in TOOLS_CRD_FILES:
        if not (tools_crds / name).is_file():
            missing(f"{tools_crds / name} not found: {APISERVER_HINT}")
    crds = require_shared("crds")

    def start() -> Cluster:
        cluster = Cluster(binaries, crds, tools_crd_dir=tools_crds)
        cluster.start()
        try:
            # policies read their ConfigMap parameters from a live cache however often tests install
            # and remove them (see Cluster.keep_param_informers)
            cluster.keep_param_informers()
        except BaseException:
            cluster.cleanup()
            raise
        return cluster

    shared = SharedCluster(start)
    shared.ensure()  # started here, in the first test's setup
    try:
        yield shared
    finally:
        shared.stop()
