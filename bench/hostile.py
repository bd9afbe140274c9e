#!/usr/bin/env python3
"""Benchmark hostile input (issue #12): every class of hostile pull-request input through the real CLI.

    .venv/bin/python bench/hostile.py [--case SUBSTRING] [--repeat N] [--keep]

Issue #12's target: each hostile input gets a located error in under 2 s and under 300 MB. Each
case below builds its own files in a fresh copy of the example repository (mlgitops.yaml, models/,
the generated argocd/, base/ and overlays/, and policies/), next to an `outside/` directory that
holds a secret marker, and runs one real `mlgitops` subprocess in it. Printed per case: the
command, wall seconds (interpreter start-up included), the child's own peak RSS (os.wait4), the
exit code, the diagnostic line and PASS/FAIL against:

* exit code 1, no `Traceback` in the output, the secret marker not in the output;
* a located diagnostic `path:line:col: error: ... [rule]` (or `path: error: ... [rule]` for a
  whole-file finding) naming the expected file and rule;
* nothing written: every path outside the repository's .mlgitops/ (the build lock) stats the same
  after the run (outside/, the scratch TMPDIR and the repository itself);
* under 2 s wall and under 300 MB peak RSS (with --repeat N: the medians of N runs, each run on a
  fresh copy; the other checks must hold in every run).

A case that does not finish in its timeout (60 s; 20 s for the FIFO) is killed and is a FAIL.
Exit 0 whatever the outcome: this is a benchmark, not a test (tests/hostile/ asserts the exact
diagnostics; speed targets live here, never in timed unit tests).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import re
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable

HERE = pathlib.Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
MLGITOPS = str(pathlib.Path(sys.executable).with_name("mlgitops"))
if not os.path.exists(MLGITOPS):
    MLGITOPS = shutil.which("mlgitops") or MLGITOPS

TARGET_SECONDS, TARGET_MB = 2.0, 300
GENERATED = ("argocd", "base", "overlays")
LOCATED = re.compile(r"^(?P<path>[^\s:][^:]*?)(?::(?P<line>\d+):(?P<col>\d+))?: error: (?P<msg>.*) \[(?P<rule>[a-z0-9.-]+)\]$")

# --- files a case builds --------------------------------------------------------------------------

sys.path.insert(0, str(REPO_ROOT / "tests" / "hostile"))
from hostile_inputs import CONFIGMAP, LEAK_POLICY, SECRET, policy  # noqa: E402 - shared with the tests


def bomb(levels: int = 9, indent: str = "  ") -> str:
    """Block-mapping entries of a billion laughs: a{k} holds ten aliases of a{k-1} (10**levels leaves)."""
    lines = ['a0: &a0 ["lol"' + ', "lol"' * 9 + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "".join(f"{indent}{line}\n" for line in lines)


DEPTH = 5000
FLOW_SEQ = "[" * DEPTH + "]" * DEPTH
FLOW_MAP = "{a: " * DEPTH + "1" + "}" * DEPTH
BLOCK = "\n  " + "- " * DEPTH + "x"  # compact block sequences: each "- " opens one more level


def params_file(name: str, key: str, value: str) -> str:
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: mlgitops-policy\n"
            f"data:\n  {key}: {value}\n")


def int_list(n: int) -> str:
    return "[" + ", ".join(str(i) for i in range(n)) + "]"


# --- the site -------------------------------------------------------------------------------------

@dataclasses.dataclass
class Site:
    tmp: pathlib.Path      # holds repo/, outside/, scratch/
    root: pathlib.Path     # the repository copy (the child's cwd)
    outside: pathlib.Path  # files outside the repository, each holding SECRET

    def edit(self, rel: str, old: str, new: str) -> None:
        path = self.root / rel
        text = path.read_text()
        if text.count(old) != 1:
            raise SystemExit(f"bench/hostile.py: {rel}: expected one {old!r}, found {text.count(old)}")
        path.write_text(text.replace(old, new))

    def append(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.write_text(path.read_text() + text)

    def link_outside(self, rel: str, name: str, move_existing: bool = True) -> None:
        """Make repo/rel a symbolic link to outside/name; what was at rel moves there (a marker file
        is added to a directory, the marker appended to a file)."""
        path, target = self.root / rel, self.outside / name
        if path.exists() and move_existing:
            shutil.move(str(path), str(target))
        elif not target.exists():
            target.mkdir()
        if target.is_dir():
            (target / "leak.yaml").write_text(CONFIGMAP)
        else:
            target.write_text(target.read_text() + f"# {SECRET}\n")
        path.symlink_to(target, target_is_directory=target.is_dir())

    def leak_policies(self, test_file: str) -> None:
        """policies/ holding only the `leak` policy and the test file given."""
        shutil.rmtree(self.root / "policies")
        (self.root / "policies/tests").mkdir(parents=True)
        (self.root / "policies/leak.yaml").write_text(LEAK_POLICY)
        (self.root / "policies/tests/leak.yaml").write_text(test_file)


def make_site(tmp: pathlib.Path) -> Site:
    """As tests/conftest.py's copy_sources(with_output=True), plus policies/ and outside/."""
    root = tmp / "repo"
    root.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "mlgitops.yaml", root / "mlgitops.yaml")
    for top in ("models", *GENERATED, "policies"):
        shutil.copytree(REPO_ROOT / top, root / top)
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "secret.yaml").write_text(CONFIGMAP)
    (tmp / "scratch").mkdir()
    return Site(tmp, root, outside)


def snapshot(top: pathlib.Path, skip: pathlib.Path) -> dict[str, tuple]:
    """Every path under top (symbolic links not followed) -> (mode, size, mtime) of a file or link, the
    mode of a directory; skip left out."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        if pathlib.Path(dirpath) == skip.parent:
            dirnames[:] = [d for d in dirnames if d != skip.name]
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            out[os.path.relpath(path, top)] = ((st.st_mode,) if os.path.isdir(path) and not os.path.islink(path)
                                               else (st.st_mode, st.st_size, st.st_mtime_ns))
    return out


# --- the cases ------------------------------------------------------------------------------------

@dataclasses.dataclass
class Case:
    group: str
    name: str
    command: list[str]
    path: str                      # the file the located diagnostic must name
    rule: str                      # and its rule
    setup: Callable[[Site], None]
    timeout: float = 60
    max_line: int | None = None    # the diagnostic line must be shorter than this (an echoed value)


def _model_link(s: Site) -> None:
    (s.outside / "model.yaml").write_text(f"apiVersion: mlgitops.dev/v1alpha1\nkind: Model\n{SECRET}: 1\n")
    (s.root / "models/evil.yaml").symlink_to(s.outside / "model.yaml")


def _case_file_link(s: Site) -> None:
    (s.root / "outside.yaml").symlink_to(s.outside / "secret.yaml")
    s.leak_policies("policy: leak\ncases:\n- name: steal\n  expect: pass\n  file: ../../outside.yaml\n")


def _case_file_escape(s: Site) -> None:
    shutil.copy(s.outside / "secret.yaml", s.tmp / "outside.yaml")  # a sibling of repo/
    s.leak_policies("policy: leak\ncases:\n- name: steal\n  expect: pass\n  file: ../../../outside.yaml\n")


def _inline_model_name(s: Site) -> None:
    model = (s.root / "models/iris.yaml").read_text().replace("name: iris", "name: '../../x'", 1)
    indented = "".join(f"    {line}\n" for line in model.splitlines())
    s.leak_policies(f"policy: leak\ncases:\n- name: write\n  expect: pass\n  env: prod\n  model:\n{indented}")


def _kustomization_link(s: Site) -> None:
    kust = s.root / "overlays/prod/iris/kustomization.yaml"
    (s.outside / "kustomization.yaml").write_text(kust.read_text() + f"commonAnnotations: {{leak: {SECRET}}}\n")
    kust.unlink()
    kust.symlink_to(s.outside / "kustomization.yaml")


def _change_every_model(s: Site) -> None:
    """So that a build has something to write in every overlay."""
    for model in (s.root / "models").glob("*.yaml"):
        model.write_text(model.read_text().replace("team: ", "team: x-", 1))


def _overlays_prod_link(s: Site) -> None:
    _change_every_model(s)
    s.link_outside("overlays/prod", "overlays_prod")


def _dot_mlgitops_link(s: Site) -> None:
    _change_every_model(s)
    s.link_outside(".mlgitops", "dot_mlgitops")


def _schema_location(s: Site, location: str) -> None:
    """mlgitops.yaml with `location` first in validation.schemaLocations (inside the example's own
    `validation:` mapping: a second one would be a duplicate key, reported before the location)."""
    path = s.root / "mlgitops.yaml"
    text = path.read_text()
    entry = f"  schemaLocations:\n  - {location}\n"
    if "\nvalidation:\n" in text:
        text = text.replace("\nvalidation:\n", "\nvalidation:\n" + entry, 1)
    else:
        text += "validation:\n" + entry
    path.write_text(text)


def _schema_url(s: Site) -> None:
    _schema_location(s, "http://127.0.0.1:9/{{ .ResourceKind }}.json")


def _schema_outside(s: Site) -> None:
    (s.outside / "configmap-v1.json").write_text('{"description": "%s", "type": "object"}' % SECRET)
    _schema_location(s, f"{s.outside}/{{{{ .ResourceKind }}}}-v1.json")


def _fifo(s: Site) -> None:
    os.mkfifo(s.root / "models/fifo.yaml")


def _big_model(s: Site) -> None:
    with open(s.root / "models/big.yaml", "wb") as fh:  # sparse: 50 MiB on fstat, nothing on disk
        fh.write(b"apiVersion: mlgitops.dev/v1alpha1\nkind: Model\n")
        fh.truncate(50 * 2**20)


def _big_resource(s: Site) -> None:
    """overlays/prod/iris/monitoring.yaml grown to 40 MiB of real YAML (ConfigMaps)."""
    path = s.root / "overlays/prod/iris/monitoring.yaml"
    filler = "".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pad-{i}\n  namespace: ml-prod\n"
                     f"data:\n  v: {'p' * 900}\n" for i in range(64))
    with open(path, "a") as fh:
        while fh.tell() < 40 * 2**20:
            fh.write(filler)


def _bomb_policy(s: Site) -> None:
    marker = "kind: ValidatingAdmissionPolicy\n"
    s.edit("policies/hpa-bounds.yaml", marker, marker + "x-bomb:\n" + bomb())


def _bomb_resource(s: Site) -> None:
    path = s.root / "overlays/prod/iris/monitoring.yaml"
    path.write_text("x-bomb:\n" + bomb() + "---\n" + path.read_text())


def _cel(s: Site) -> None:
    shutil.rmtree(s.root / "policies/tests")  # policy check does not read them; as tests/hostile


def _cel_megabyte(s: Site) -> None:
    _cel(s)
    (s.root / "policies/params/big.yaml").write_text(params_file("big", "big", "x" * 2**20))
    numbers = int_list(30)
    expression = f"{numbers}.map(i, {numbers}.map(j, params.data.big).join('')).join('').size() > 0"
    (s.root / "policies/big.yaml").write_text(
        policy("big", f"  validations:\n  - expression: \"{expression}\"\n", params=True))


def _cel_hundred(s: Site) -> None:
    _cel(s)
    numbers = int_list(95)
    validations = "".join(f"  - expression: \"{numbers}.all(i, {numbers}.all(j, i + j >= {k % 3 - 2}))\"\n"
                          for k in range(100))
    (s.root / "policies/loops.yaml").write_text(policy("loops", "  validations:\n" + validations))


def _cel_wide(s: Site) -> None:
    """60,000 characters (under the 64 Ki of the re-estimate at real sizes) x 5,000 elements: 300 MB."""
    _cel(s)
    (s.root / "policies/params/wide.yaml").write_text(params_file("wide", "s", "w" * 60_000))
    expression = f"{int_list(5000)}.map(i, params.data.s).join('').size() > 0"
    (s.root / "policies/wide.yaml").write_text(
        policy("wide", f"  validations:\n  - expression: \"{expression}\"\n", params=True))


def _huge_scalar(s: Site) -> None:
    (s.root / "hostile").mkdir()
    (s.root / "hostile/service.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - port: " + "z" * 5_000_000 + "\n")


def _non_utf8_config(s: Site) -> None:
    path = s.root / "mlgitops.yaml"
    path.write_bytes(path.read_bytes().replace(b"kind: Config", b"kind: Conf\xefig", 1))


def _nul_line5(s: Site) -> None:
    lines = (s.root / "models/iris.yaml").read_text().split("\n")
    lines[4] = "ab\x00" + lines[4]
    (s.root / "models/iris.yaml").write_text("\n".join(lines))


KUST = "overlays/prod/iris/kustomization.yaml"
MONITORING = "overlays/prod/iris/monitoring.yaml"
IRIS = "overlays/prod/iris"
BUILD = ["build"]


def _cases() -> list[Case]:
    app = lambda rel, text: (lambda s: s.append(rel, text))  # noqa: E731
    return [
        # 1. containment: nothing outside the repository is read or written
        Case("containment", "model file linked outside", BUILD, "models/evil.yaml", "input.outside-repo", _model_link),
        Case("containment", "models/ linked outside", BUILD, "models", "input.outside-repo",
             lambda s: s.link_outside("models", "models")),
        Case("containment", "policy file linked outside", ["policy", "check"], "policies/evil.yaml",
             "input.outside-repo", lambda s: (s.root / "policies/evil.yaml").symlink_to(s.outside / "secret.yaml")),
        Case("containment", "test case file: ../../outside.yaml, a link out", ["policy", "test"],
             "policies/tests/leak.yaml", "input.outside-repo", _case_file_link),
        Case("containment", "test case file: ../../../outside.yaml", ["policy", "test"],
             "policies/tests/leak.yaml", "input.outside-repo", _case_file_escape),
        Case("containment", "test case inline model named ../../x", ["policy", "test"],
             "policies/tests/leak.yaml", "policy.test-invalid", _inline_model_name),
        Case("containment", "kustomization.yaml linked outside", ["render", IRIS], KUST, "input.outside-repo",
             _kustomization_link),
        Case("containment", "overlays/prod linked outside", BUILD, "overlays/prod", "input.outside-repo",
             _overlays_prod_link),
        Case("containment", ".mlgitops linked outside", BUILD, ".mlgitops", "input.outside-repo", _dot_mlgitops_link),
        Case("containment", "schema location URL in mlgitops.yaml", ["validate", "--no-strict-schemas"],
             "mlgitops.yaml", "input.remote-schema", _schema_url),
        Case("containment", "schema location outside in mlgitops.yaml", ["validate", "--no-strict-schemas"],
             "mlgitops.yaml", "input.outside-repo", _schema_outside),
        # 2. sizes and special files
        Case("size", "model linked to /dev/zero", BUILD, "models/zero.yaml", "input.outside-repo",
             lambda s: (s.root / "models/zero.yaml").symlink_to("/dev/zero")),
        Case("size", "FIFO model (20 s timeout)", BUILD, "models/fifo.yaml", "input.not-regular-file", _fifo,
             timeout=20),
        Case("size", "50 MB model (sparse)", BUILD, "models/big.yaml", "input.too-large", _big_model),
        Case("size", "40 MB overlay resource", ["validate", IRIS], KUST, "input.too-large", _big_resource),
        # 3. YAML
        Case("yaml", "billion laughs in a model", BUILD, "models/iris.yaml", "input.alias-bomb",
             app("models/iris.yaml", "x-bomb:\n" + bomb())),
        Case("yaml", "billion laughs in mlgitops.yaml", BUILD, "mlgitops.yaml", "input.alias-bomb",
             app("mlgitops.yaml", "x-bomb:\n" + bomb())),
        Case("yaml", "billion laughs in a policy file", ["policy", "check"], "policies/hpa-bounds.yaml",
             "input.alias-bomb", _bomb_policy),
        Case("yaml", "billion laughs in a policy test file", ["policy", "test"], "policies/tests/hpa-bounds.yaml",
             "input.alias-bomb", app("policies/tests/hpa-bounds.yaml", "x-bomb:\n" + bomb())),
        Case("yaml", "billion laughs in a kustomization", ["render", IRIS], KUST, "input.alias-bomb",
             app(KUST, "x-bomb:\n" + bomb())),
        Case("yaml", "billion laughs in an overlay resource", ["render", IRIS], MONITORING, "input.alias-bomb",
             _bomb_resource),
        Case("yaml", "billion laughs in an overlay resource", ["validate", IRIS], MONITORING, "input.alias-bomb",
             _bomb_resource),
        Case("yaml", "billion laughs in an overlay resource", ["check", "--no-strict-schemas"], MONITORING,
             "input.alias-bomb", _bomb_resource),
        Case("yaml", "self-referential alias in a model", BUILD, "models/iris.yaml", "input.alias-bomb",
             app("models/iris.yaml", "x-loop: &loop [*loop]\n")),
        Case("yaml", f"flow nesting {DEPTH:,} levels in a model", BUILD, "models/iris.yaml", "input.too-deep",
             app("models/iris.yaml", f"x-deep: {FLOW_SEQ}\n")),
        Case("yaml", f"block nesting {DEPTH:,} levels in a model", BUILD, "models/iris.yaml", "input.too-deep",
             app("models/iris.yaml", f"x-deep:{BLOCK}\n")),
        Case("yaml", f"flow nesting {DEPTH:,} levels in a kustomization", ["render", IRIS], KUST, "input.too-deep",
             app(KUST, f"x-deep: {FLOW_MAP}\n")),
        Case("yaml", f"block nesting {DEPTH:,} levels in a kustomization", ["render", IRIS], KUST,
             "input.too-deep", app(KUST, f"x-deep:{BLOCK}\n")),
        # 4. CEL
        Case("cel", "1 MB params string x nested map/join", ["policy", "check"], "policies/big.yaml",
             "policy.cost-exceeded", _cel_megabyte),
        Case("cel", "100 validations of 9,000 iterations", ["policy", "check"], "policies/loops.yaml",
             "policy.cost-exceeded", _cel_hundred),
        Case("cel", "60,000-char params string x 5,000-element join", ["policy", "check"], "policies/wide.yaml",
             "policy.cost-exceeded", _cel_wide),
        # 5. error quality
        Case("errors", "name with a trailing newline", BUILD, "models/iris.yaml", "spec.schema",
             lambda s: s.edit("models/iris.yaml", "  name: iris\n", '  name: "iris\\n"\n')),
        Case("errors", "cpu: .nan", BUILD, "models/iris.yaml", "spec.schema",
             lambda s: s.edit("models/iris.yaml", "requests: {cpu: 500m,", "requests: {cpu: .nan,")),
        Case("errors", "5 MB scalar value (echo shortened)", ["validate", "hostile/service.yaml"],
             "hostile/service.yaml", "schema", _huge_scalar, max_line=400),
        Case("errors", "non-UTF-8 mlgitops.yaml", BUILD, "mlgitops.yaml", "input.encoding", _non_utf8_config),
        Case("errors", "NUL byte on line 5 of a model", BUILD, "models/iris.yaml", "input.encoding", _nul_line5),
    ]


# --- running --------------------------------------------------------------------------------------

@dataclasses.dataclass
class Run:
    seconds: float
    peak_mb: float
    code: int | None    # None: killed at the timeout
    out: str


def run_child(args: list[str], cwd: pathlib.Path, env: dict, timeout: float) -> Run:
    """One `mlgitops` child, stdout and stderr merged: wall seconds and its own peak RSS (wait4)."""
    started = time.perf_counter()
    proc = subprocess.Popen([MLGITOPS, *args], cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    killed = False
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                killed = True
                break
            if sel.select(timeout=min(left, 0.5)):
                data = os.read(proc.stdout.fileno(), 1 << 16)
                if not data:
                    break
                chunks.append(data)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    return Run(seconds, usage.ru_maxrss / 1024, None if killed else proc.returncode,
               b"".join(chunks).decode("utf-8", "replace"))


def judge(case: Case, run: Run, site: Site, before: dict) -> tuple[list[str], str]:
    """(what is wrong apart from time and memory, the diagnostic line to show)."""
    problems = []
    lines = run.out.splitlines()
    errors = [line for line in lines if ": error: " in line]
    wanted = [line for line in errors if (m := LOCATED.match(line)) and m["path"] == case.path
              and m["rule"] == case.rule]
    shown = wanted[0] if wanted else (errors[0] if errors else (lines[0] if lines else "(no output)"))
    if run.code is None:
        problems.append(f"killed after {case.timeout:.0f} s")
    elif run.code != 1:
        problems.append(f"exit {run.code}")
    if not wanted:
        problems.append(f"no located {case.path} error [{case.rule}]")
    if "Traceback" in run.out:
        problems.append("Traceback")
    if SECRET in run.out:
        problems.append("the secret marker is in the output")
    if case.max_line and wanted and len(wanted[0]) >= case.max_line:
        problems.append(f"diagnostic line {len(wanted[0]):,} characters")
    after = snapshot(site.tmp, site.root / ".mlgitops")
    if after != before:
        changed = sorted(k for k in after.keys() | before.keys() if after.get(k) != before.get(k))
        problems.append(f"wrote {', '.join(changed[:3])}{' ...' if len(changed) > 3 else ''}")
    return problems, shown


def measure(case: Case, repeat: int, keep: bool, judged: bool = True) -> dict:
    runs, problems, shown = [], [], ""
    for _ in range(repeat):
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="mlgitops-hostile-"))
        try:
            site = make_site(tmp)
            case.setup(site)
            before = snapshot(tmp, site.root / ".mlgitops")
            env = {k: v for k, v in os.environ.items() if not k.startswith("MLGITOPS_")}
            env.update(NO_COLOR="1", TMPDIR=str(tmp / "scratch"))
            run = run_child(case.command, site.root, env, case.timeout)
            if judged:
                found, shown = judge(case, run, site, before)
                problems += [p for p in found if p not in problems]
            runs.append(run)
        finally:
            if keep:
                print(f"  kept {tmp}", file=sys.stderr)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
    seconds = statistics.median(r.seconds for r in runs)
    peak = statistics.median(r.peak_mb for r in runs)
    codes = sorted({r.code for r in runs}, key=str)
    if seconds >= TARGET_SECONDS:
        problems.append(f"{seconds:.2f} s")
    if peak >= TARGET_MB:
        problems.append(f"{peak:.0f} MB")
    return {"seconds": seconds, "peak": peak, "codes": codes, "shown": shown, "problems": problems}


def shorten(line: str, width: int = 150) -> str:
    return line if len(line) <= width else line[:width - 40] + " … " + line[-37:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", metavar="SUBSTRING", help="only the cases whose group, name or command contain it")
    parser.add_argument("--repeat", type=int, default=1, metavar="N", help="runs per case; the medians are judged")
    parser.add_argument("--keep", action="store_true", help="keep each case's temporary directory")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the reference runs of the same commands on the unmodified example")
    args = parser.parse_args()
    cases = [c for c in _cases() if not args.case or args.case.lower() in
             f"{c.group}: {c.name} mlgitops {' '.join(c.command)}".lower()]
    if not cases:
        parser.error(f"no case matches {args.case!r}")
    load = os.getloadavg()[0]
    print(f"hostile input through the real CLI ({MLGITOPS}): a located error in < {TARGET_SECONDS:.0f} s and "
          f"< {TARGET_MB} MB peak RSS")
    print(f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load average {load:.2f}, "
          f"{'median of ' + str(args.repeat) + ' runs' if args.repeat > 1 else 'one run'} per case")
    print()
    print(f"    {'case':56s} {'command':38s} {'wall':>7s} {'peak RSS':>9s}  exit  result")
    passed = 0
    for i, case in enumerate(cases, 1):
        r = measure(case, args.repeat, args.keep)
        ok = not r["problems"]
        passed += ok
        codes = ",".join("kill" if c is None else str(c) for c in r["codes"])
        command = "mlgitops " + " ".join(case.command)
        print(f"{i:2d}  {case.group + ': ' + case.name:56.56s} {command:38.38s} {r['seconds']:5.2f} s "
              f"{r['peak']:6.0f} MB  {codes:>4s}  {'PASS' if ok else 'FAIL'}")
        length = f"  ({len(r['shown']):,} characters)" if case.max_line else ""
        print(f"      {shorten(r['shown'])}{length}")
        if not ok:
            print(f"      FAIL: {'; '.join(r['problems'])}")
        sys.stdout.flush()
    if not args.no_reference:
        print()
        print("reference: the same commands on the unmodified example repository (what the command costs "
              "without hostile input)")
        commands = list(dict.fromkeys(tuple(c.command) for c in cases if not any("hostile/" in a for a in c.command)))
        for command in commands:
            r = measure(Case("reference", "", list(command), "", "", lambda s: None), args.repeat, False,
                        judged=False)
            print(f"    {'mlgitops ' + ' '.join(command):56.56s} {r['seconds']:5.2f} s {r['peak']:6.0f} MB  "
                  f"exit {','.join(map(str, r['codes']))}")
    print()
    print(f"{len(cases)} cases: {passed} passed, {len(cases) - passed} failed "
          f"(load average {load:.2f} before, {os.getloadavg()[0]:.2f} after)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
