"""The built-in policies for a new repository: the policies as they are, their params adapted to
its environments (namespace-environment), and their test cases without those bound to this repository's example models.

A test case reading `file: ../../overlays/<env>/<model>` checks an overlay of this repository's
example models, which a new repository does not have (or may delete). The cases on iris's
overlays become `model:` cases compiling the same reference model (models/iris.yaml, bundled as
reference-model.yaml) inline in that environment, so they test the same objects and do not depend
on the new repository's own models; the cases on the other example models, and `model:` cases
in an environment the new repository lacks, are left out. Every policy keeps at least one
passing and one failing case (`policy.untested` otherwise), which `adapt_tests` verifies.
"""

from __future__ import annotations

import json
import re
from typing import Callable

import yaml

from .settings import Settings

_FILE_CASE = re.compile(r"^  file: *(\S+)\n", re.M)
_REFERENCE_OVERLAY = re.compile(r"\.\./\.\./overlays/([a-z0-9-]+)/iris/?")


def _case_blocks(text: str) -> tuple[str, list[str], str]:
    """Split a test file into the part up to `cases:`, one text per case (with the comment lines
    just above it) and trailing comments."""
    head, sep, body = text.partition("\ncases:\n")
    if not sep:
        raise ValueError("a policy test file without a top-level 'cases:' list")
    blocks: list[str] = []
    pending: list[str] = []
    for line in body.splitlines(keepends=True):
        if line.startswith("- "):
            blocks.append("".join(pending) + line)
            pending = []
        elif line.startswith("#") or not line.strip():
            pending.append(line)
        elif blocks and not pending:
            blocks[-1] += line
        else:
            raise ValueError(f"unexpected line in a policy test file: {line!r}")
    return head + sep, blocks, "".join(pending)


def _reference_model(model: dict, environments: set[str]) -> dict:
    """The reference model without overrides of environments the new repository lacks."""
    spec = dict(model["spec"])
    if "environments" in spec:
        spec["environments"] = {k: v for k, v in spec["environments"].items() if k in environments}
        if not spec["environments"]:
            del spec["environments"]
    return {**model, "spec": spec}


class _Adapter:
    """Adapts the cases of one test file (see the module docstring and `adapt_tests`)."""

    def __init__(self, environments: set[str], reference_model: dict, pinned: dict | None) -> None:
        self.environments, self.reference_model, self.pinned = environments, reference_model, pinned
        self.anchored = False

    def _reference(self) -> str:
        if self.anchored:
            return "*reference"
        self.anchored = True
        return "&reference " + json.dumps(_reference_model(self.reference_model, self.environments))

    def __call__(self, block: str) -> str | None:
        """The case for the new repository, or None to leave it out."""
        case = yaml.safe_load(block)[0]
        overrides = ((case.get("model") or {}).get("spec") or {}).get("environments") or {}
        env = case.get("env")
        if (env is not None and env not in self.environments) or not set(overrides) <= self.environments:
            return None
        file_ = _FILE_CASE.search(block)
        if file_ and file_.group(1).startswith("../../"):
            overlay = _REFERENCE_OVERLAY.fullmatch(file_.group(1))
            if not overlay or overlay.group(1) not in self.environments:
                return None
            block = (block[:file_.start()] + f"  env: {overlay.group(1)}\n  model: {self._reference()}"
                     f"  # models/iris.yaml of mlgitops\n" + block[file_.end():])
        if self.pinned is not None and "object" in case and "params" not in case:
            unknown = re.match(r"unknown environment (\S+)", str(case.get("message", "")))
            if unknown and unknown.group(1) in self.environments:
                return None  # an environment of the example is one of the new repository's
            name_line = block.index("\n", block.index("\n- ") + 1 if not block.startswith("- ") else 0) + 1
            block = (block[:name_line] + f"  params: {json.dumps({'data': self.pinned})}"
                     "  # the example environments the case was written for\n" + block[name_line:])
        return block


def adapt_tests(text: str, environments: set[str], reference_model: dict, pinned: dict | None = None) -> str:
    """A test file with only the cases that run in a new repository, those on the reference
    model's overlays compiling it inline; inline objects get `pinned` (the bundled params' data,
    for params the new repository changes) as their params. ValueError when a policy is left
    without a passing and a failing case."""
    head, blocks, tail = _case_blocks(text)
    adapt = _Adapter(environments, reference_model, pinned)
    kept = [b for b in map(adapt, blocks) if b is not None]
    out = head + "".join(kept) + tail
    doc = yaml.safe_load(out)
    expects = {case.get("expect") for case in doc.get("cases") or ()}
    if not {"pass", "fail"} <= expects:
        raise ValueError(f"policy {doc.get('policy')}: no passing and failing case left for a new repository")
    return out


def _replace(text: str, pattern: str, replacement: Callable[[re.Match[str]], str]) -> str:
    out, n = re.subn(pattern, replacement, text, count=1, flags=re.M | re.S)
    if n != 1:
        raise ValueError(f"the bundled params file has no {pattern!r}")
    return out


ADAPTED_PARAMS = ("namespace-environment.yaml",)


def adapt_params(name: str, text: str, settings: Settings) -> str:
    """namespace-environment's params follow the new repository's environments; the others are
    the platform's choices (GPU namespaces, buckets, bounds), kept as mlgitops ships them."""
    if name == ADAPTED_PARAMS[0]:
        data = "".join(f"  {env.name}: {env.namespace}\n" for env in settings.environments)
        return _replace(text, r"^data:\n.*\Z", lambda m: "data:\n" + data)
    return text


def policy_files(bundled: dict[str, bytes], reference_model: dict, settings: Settings) -> dict[str, bytes]:
    """The new repository's policies/ from the bundled one (paths start with `policies/`)."""
    environments = {env.name for env in settings.environments}
    out: dict[str, bytes] = {}
    for path, data in bundled.items():
        directory, _, name = path.rpartition("/")
        if directory == "policies/tests" and name.endswith(".yaml"):
            params = bundled.get(f"policies/params/{name}")
            pinned = yaml.safe_load(params)["data"] if name in ADAPTED_PARAMS and params else None
            data = adapt_tests(data.decode(), environments, reference_model, pinned).encode()
        elif directory == "policies/params":
            data = adapt_params(name, data.decode(), settings).encode()
        out[path] = data
    return out
