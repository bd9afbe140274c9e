"""How often each kustomize feature of treegen.py appears in the seeded trees the differential
test renders (seeds 0..N-1, sub-seed 0), without running kustomize (~3 s for 300 trees).

    .venv/bin/pytest tests/kustomize/test_treegen_features.py
    .venv/bin/python tests/kustomize/test_treegen_features.py      # print the counts

Every feature must appear in at least MIN_TREES trees (issue #18); a feature below it means
treegen.py's probabilities need rebalancing, not an exception list."""

from __future__ import annotations

import collections
import functools
import pathlib
import random
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import treegen  # noqa: E402

N_TREES = 300
MIN_TREES = 30  # issue #18: every feature in at least 30 of the seeded trees


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
    assert not rare, f"features in fewer than {MIN_TREES} of {N_TREES} seeded trees (rebalance treegen.py): {rare}"


def test_json_patch_features_in_enough_trees():
    """The JSON 6902 features (issue #18), absent paths included, each reach MIN_TREES."""
    counts = feature_counts()
    json_features = [f for f in treegen.FEATURES if f.startswith(("json-", "patches-json6902", "patchesJson6902"))]
    assert {"json-add-absent-annotations", "json-remove-absent-annotations", "json-array-ops"} <= set(json_features)
    assert {f: counts[f] for f in json_features if counts[f] < MIN_TREES} == {}


if __name__ == "__main__":
    all_counts = feature_counts()
    for feature in sorted(treegen.FEATURES, key=lambda f: (all_counts[f], f)):
        print(f"{all_counts[feature]:4d}  {feature}{'' if all_counts[feature] >= MIN_TREES else '  (below MIN_TREES)'}")
