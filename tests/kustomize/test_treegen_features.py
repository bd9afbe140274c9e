"""How often each kustomize feature of treegen.py appears in the seeded trees the differential
test renders (seeds 0..N-1, sub-seed 0), without running kustomize (~3 s for 300 trees).

    .venv/bin/pytest tests/kustomize/test_treegen_features.py
    .venv/bin/python tests/kustomize/test_treegen_features.py      # print the counts

Every feature must appear in at least MIN_TREES trees, except those in KNOWN_RARE (measured
below it with issue #18's generator; the list may only shrink: a feature that reaches
MIN_TREES must leave it)."""

from __future__ import annotations

import collections
import functools
import pathlib
import random
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import treegen  # noqa: E402

N_TREES = 300
MIN_TREES = 30
# seeds 0..299: count in parentheses
KNOWN_RARE = {
    "smp-delete-list-item",  # (10)
    "ref-patch-adds-volume",  # (12)
    "diamond-by-namespace",  # (13)
    "reused-component",  # (14)
    "replicas-rollout",  # (17)
    "ref-imagePullSecrets",  # (17)
    "ref-ingress-tls",  # (17)
    "smp-null-nested",  # (18)
    "smp-replace-directive",  # (21)
    "legacy-bases-field",  # (22)
    "target-namespace",  # (28)
    "service-without-selector",  # (28)
    "json-remove-absent-annotations",  # (27)
}


@functools.lru_cache(maxsize=None)
def feature_counts(n: int = N_TREES) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    for seed in range(n):
        gen = treegen._TreeGen(random.Random(f"mlgitops-treegen:{seed}:0"))  # write_tree's sub-seed 0
        gen.build()
        counts.update(set(gen.features))
    return counts


def test_each_feature_in_enough_trees():
    counts = feature_counts()
    assert set(counts) <= treegen.FEATURES, set(counts) - treegen.FEATURES
    rare = {f: counts[f] for f in sorted(treegen.FEATURES) if counts[f] < MIN_TREES}
    assert set(rare) <= KNOWN_RARE, {f: n for f, n in rare.items() if f not in KNOWN_RARE}
    assert not KNOWN_RARE - set(rare), f"now in >= {MIN_TREES} trees, drop from KNOWN_RARE: {KNOWN_RARE - set(rare)}"


def test_json_patch_features_in_enough_trees():
    """The JSON 6902 features (issue #18) all reach MIN_TREES but one (KNOWN_RARE)."""
    counts = feature_counts()
    json_features = [f for f in treegen.FEATURES if f.startswith(("json-", "patches-json6902", "patchesJson6902"))]
    assert {f for f in json_features if counts[f] < MIN_TREES} <= {"json-remove-absent-annotations"}


if __name__ == "__main__":
    for feature, count in sorted(feature_counts().items(), key=lambda fc: (fc[1], fc[0])):
        print(f"{count:4d}  {feature}")
