"""A local cache that lets a rebuild skip models whose inputs and outputs are unchanged.

Kept in .mlgitops/build-cache.json (git-ignored, never needed for correctness). An entry is
used only when all of these still hold: the same tool code and mlgitops.yaml (fingerprint), the
same model file bytes (sha256), and every output file it produced still has the size and
modification time recorded right after it was written or verified. Anything else - a hand edit
of a generated file, a deleted output, a new mlgitops version - makes the model build again.
`build --check` never uses it: CI proves drift from scratch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os

CACHE_FILE = ".mlgitops/build-cache.json"
_FORMAT = 1


@dataclasses.dataclass
class Entry:
    name: str
    outputs: list[str]


class BuildCache:
    def __init__(self, root: str | None, fingerprint: str, entries: dict) -> None:
        self.root = root
        self.fingerprint = fingerprint
        self.entries = entries  # model path -> {"sha", "name", "outputs": {rel: [size, mtime_ns]}}
        self.fresh: dict[str, dict] = {}
        self.hits: dict[str, Entry] = {}
        self.pending: dict[str, tuple[str, str, list[str]]] = {}

    @classmethod
    def disabled(cls) -> "BuildCache":
        return cls(None, "", {})

    @classmethod
    def open(cls, root: str, fingerprint: str) -> "BuildCache":
        try:
            with open(os.path.join(root, CACHE_FILE), encoding="utf-8") as fh:
                data = json.load(fh)
            if data.get("format") != _FORMAT or data.get("fingerprint") != fingerprint:
                data = {}
        except (OSError, ValueError):
            data = {}
        return cls(root, fingerprint, data.get("models", {}) if isinstance(data, dict) else {})

    def lookup(self, rel: str) -> Entry | None:
        if self.root is None:
            return None
        entry = self.entries.get(rel)
        if not entry:
            return None
        try:
            with open(os.path.join(self.root, rel), "rb") as fh:
                if hashlib.sha256(fh.read()).hexdigest() != entry["sha"]:
                    return None
            for out, (size, mtime) in entry["outputs"].items():
                st = os.stat(os.path.join(self.root, out))
                if st.st_size != size or st.st_mtime_ns != mtime:
                    return None
        except (OSError, KeyError, TypeError, ValueError):
            return None
        self.fresh[rel] = entry
        self.hits[rel] = Entry(entry["name"], list(entry["outputs"]))
        return self.hits[rel]

    def remember(self, model_file, outputs: dict[str, bytes]) -> None:
        """Record a built model; stats are taken in save(), after the files are on disk."""
        if self.root is None:
            return
        self.pending[model_file.path] = (hashlib.sha256(model_file.text).hexdigest(), model_file.name,
                                         sorted(outputs))

    def save(self) -> None:
        if self.root is None:
            return
        models = dict(self.fresh)
        for rel, (sha, name, outputs) in self.pending.items():
            stats = {}
            try:
                for out in outputs:
                    st = os.stat(os.path.join(self.root, out))
                    stats[out] = [st.st_size, st.st_mtime_ns]
            except OSError:
                continue  # not all written (narrowed build): do not vouch for it
            models[rel] = {"sha": sha, "name": name, "outputs": stats}
        path = os.path.join(self.root, CACHE_FILE)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + ".tmp"
            text = json.dumps({"format": _FORMAT, "fingerprint": self.fingerprint, "models": models},
                              sort_keys=True)  # dumps uses the C encoder; dump to a file does not
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only checkout still builds; it just is not faster next time
