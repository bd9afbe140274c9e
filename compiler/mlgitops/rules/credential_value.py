"""spec.credential-value (and config.credential-value for mlgitops.yaml): no value anywhere in a
model file or in mlgitops.yaml is a credential: a well-known default (MinIO's `minioadmin`, the
AWS documentation's example keys), a value shaped like a key or token (AWS access key ids,
Hugging Face, GitHub and Slack tokens, PEM private keys), or a URL with `user:password@`.

Both files are committed to Git: a key written there is leaked, whatever mlgitops generates
from it. Storage keys belong in the store an endpoint's credentials name (mlgitops.yaml
`storage.endpoints.<name>.credentials`, expand/storage.py); a model's own secrets in Secrets it
references (`secretKeyRef`). The admission policy policies/no-literal-credentials.yaml checks
the same shapes in what is rendered; spec.literal-credential (rules/env.py) checks env *names*:
a variable it reports is not reported again here.

The whole text is searched, keys and comments too (a comment is committed like a value); a
finding names the value it is in when one starts on its line. Messages never repeat the value
(it may be a live key; CI logs are read widely).
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from ..config import CONFIG_FILE, Config
from ..diagnostics import ERROR, Diagnostic, Diagnostics, Rule
from ..schemacheck import dotted
from ..spec.invalid import value_at
from ..spec.model import ModelFile
from ..yamlsource import SourceDocument
from .base import FileCheck, FileContext, Path
from .env import CREDENTIAL_NAME

RULE = Rule("spec.credential-value", ERROR,
            "A value in a model file is a credential: a well-known default such as minioadmin, an AWS access key "
            "id, a token or private key, or a URL with user:password@.",
            "Model files are committed to Git: reference a Secret (env secretKeyRef) or use a storage endpoint "
            "of mlgitops.yaml, whose credentials live in a secret store.")

# (what it is, pattern): searched in every line of the file. Keep the shapes in step with the
# `secretValue` variable of policies/no-literal-credentials.yaml (tests/test_storage.py checks).
SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("MinIO's default credentials (minioadmin)", re.compile(r"minioadmin", re.I)),
    ("an AWS access key id", re.compile(r"(AKIA|ASIA)[0-9A-Z]{16}")),
    ("the AWS documentation's example secret key", re.compile(r"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")),
    ("a Hugging Face token", re.compile(r"hf_[A-Za-z0-9]{30,}")),
    ("a GitHub token", re.compile(r"gh[pousr]_[A-Za-z0-9]{36}")),
    ("a Slack token", re.compile(r"xox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a URL with user:password@", re.compile(r"(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://[^/@\s:'\"]+:[^/@\s'\"]+@", re.I)),
)


def credential_kind(value: str) -> str | None:
    """What credential `value` looks like (None: none)."""
    for what, pattern in SHAPES:
        if pattern.search(value):
            return what
    return None


def findings(text: str, doc: SourceDocument) -> Iterator[tuple[int, int, Path | None, str]]:
    """(line, column, document path of the value there or None, what it looks like) of every
    credential-shaped text of the file: values, keys and comments alike (a comment is in Git too)."""
    if not any(pattern.search(text) for _, pattern in SHAPES):
        return  # no line can match what the whole text does not (most files: nothing to map)
    starts: dict[int, list[tuple[int, Path]]] = {}  # line -> (column, path) of the scalars that start on it
    for at, (line, col) in doc.value_positions.items():
        if at not in doc.collections:
            starts.setdefault(line, []).append((col, at))
    for number, line_text in enumerate(text.splitlines(), 1):
        for what, pattern in SHAPES:
            match = pattern.search(line_text)
            if match is None:
                continue
            col = match.start() + 1
            before = [(c, p) for c, p in starts.get(number, []) if c <= col]
            path: Path | None = max(before, key=lambda cp: cp[0])[1] if before else None
            if path is not None and _named_credential(doc.data, path):
                break  # spec.literal-credential reports it, by its name
            yield number, col, path, what
            break  # one finding a line


def _named_credential(data: Any, path: Path) -> bool:
    """An env variable's value whose name says credential (rules/env.py reports those)."""
    if len(path) < 3 or path[-1] != "value" or path[-3] != "env":
        return False
    entry = value_at(data, path[:-1])
    name = entry.get("name") if isinstance(entry, dict) else None
    return isinstance(name, str) and bool(CREDENTIAL_NAME.search(name))


def _message(path: Path | None, what: str) -> str:
    where = f"{dotted(path)}: this value" if path is not None else "this text"
    return (f"{where} holds {what}: never write credentials into Git (even in a comment); reference a Secret "
            "(secretKeyRef) or a storage endpoint's credentials (mlgitops.yaml storage.endpoints)")


def check(f: ModelFile, ctx: FileContext) -> None:
    for line, col, path, what in findings(f.text.decode("utf-8", "replace"), f.doc):
        ctx.diags.add(Diagnostic(f.path, line, col, RULE.id, RULE.severity, _message(path, what)))


def check_config(config: Config, diags: Diagnostics) -> None:
    """The same over mlgitops.yaml (config.credential-value, catalogued in catalogue.py)."""
    if config.doc is None:
        return
    for line, col, path, what in findings(config.text, config.doc):
        diags.add(Diagnostic(CONFIG_FILE, line, col, "config.credential-value", ERROR, _message(path, what)))


CHECK = FileCheck((RULE,), check)
