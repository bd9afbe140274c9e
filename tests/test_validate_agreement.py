"""The built-in engine and real kubeconform agree on every document of a ≥200-document corpus.

The corpus (tests/validate_corpus.py) is every object rendered from the example overlays plus
the Argo CD objects, and seeded mutations of them. Both engines get the same schema locations:
the shared CRD catalog in ../shared/schemas, then `default` (repo schemas/ and the Kubernetes
core schemas of kubernetes-validate). Every document must get the same verdict from both.
"""

from __future__ import annotations

import collections

import pytest

from mlgitops.validate.engine import signatures, validate_documents
from mlgitops.validate.kubeconform import INSTALL_HINT, compare, run_kubeconform
from mlgitops.validate.registry import SchemaRegistry
from mlgitops.validate.results import INVALID, SKIPPED, VALID
from tooling import REPO_ROOT, require_shared, require_tool
from validate_corpus import base_documents, corpus

KUBERNETES_VERSION = "1.33.0"
CATALOG = "../shared/schemas/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    binary = require_tool("kubeconform", INSTALL_HINT)
    require_shared("schemas")
    registry = SchemaRegistry([CATALOG, "default"], repo_root=str(REPO_ROOT), kubernetes_version=KUBERNETES_VERSION,
                              strict=True, cache_dir=str(tmp_path_factory.mktemp("schema-cache")))
    docs = corpus(REPO_ROOT, lambda api_version, kind: registry.lookup(api_version, kind).schema)
    builtin = validate_documents(docs, registry, strict=True)
    gvks = signatures(docs)
    external = run_kubeconform(docs, registry.kubeconform_locations(gvks), strict=True,
                               kubernetes_version=KUBERNETES_VERSION, binary=binary)
    return docs, builtin, external


def _tally(results, disagreements) -> str:
    counts = collections.Counter(r.status for r in results)
    return (f"documents={len(results)} valid={counts[VALID]} invalid={counts[INVALID]} "
            f"skipped={counts[SKIPPED]} errors={len(results) - counts[VALID] - counts[INVALID] - counts[SKIPPED]} "
            f"disagreements={len(disagreements)}")


def test_corpus_has_at_least_200_documents_of_every_verdict(verdicts):
    docs, builtin, external = verdicts
    assert len(docs) >= 200
    for results in (builtin, external):
        statuses = collections.Counter(r.status for r in results)
        assert statuses[VALID] >= 100 and statuses[INVALID] >= 100 and statuses[SKIPPED] >= 30, _tally(results, [])


def test_every_rendered_example_object_is_valid_in_both_engines(verdicts):
    docs, builtin, external = verdicts
    base = len(base_documents(REPO_ROOT))
    for results in (builtin, external):
        broken = [f"{r.doc.file}#{r.doc.index} {r.doc.label()}: {r.status} {r.reason or r.findings[:1]}"
                  for r in results[:base] if r.status != VALID]
        assert not broken, "\n".join(broken)


def test_builtin_engine_and_kubeconform_agree_on_every_document(verdicts):
    docs, builtin, external = verdicts
    disagreements = compare(builtin, external)
    lines = [f"{doc.file} ({doc.label()}): {finding.message}" for doc, finding in disagreements]
    assert not disagreements, _tally(builtin, disagreements) + "\n" + "\n".join(lines)
