"""The generators, in emission order: adding a kind is a module exporting GENERATOR plus one line here.

expand/overlay.py emits the objects of every generator that applies to a model, in this order,
into the resource file each names; expand/base.py collects their kustomize name references;
validate/provenance.py their provenance rows; `derived_names` feeds the `spec.name-length` rule.
SECTIONS are the model-file sections the generators own (spec/resolved.py Section); modelfiles.py
makes them part of the model schema, the defaults and the typed model.
"""

from __future__ import annotations

from ..spec.model import ModelEnv
from ..spec.resolved import Sections
from . import (analysis, autoscaling, disruption, inferenceservice, istio, monitoring, networkpolicy, rollout,
               serviceaccount, slo)
from . import dashboard
from . import operations
from . import route
from . import storage
from .generator import Generator, NameReference

GENERATORS: tuple[Generator, ...] = (
    serviceaccount.GENERATOR,
    storage.GENERATOR,
    inferenceservice.GENERATOR,
    rollout.GENERATOR,
    analysis.GENERATOR,
    autoscaling.GENERATOR,
    istio.GENERATOR,
    route.GENERATOR,
    disruption.GENERATOR,
    networkpolicy.GENERATOR,
    monitoring.GENERATOR,
    slo.GENERATOR,
    operations.GENERATOR,
    dashboard.GENERATOR,
)

# The model-file sections the generators own (modelfiles.py makes them part of every model file).
SECTIONS: Sections = tuple(g.section for g in GENERATORS if g.section is not None)


def kinds() -> set[str]:
    """Every kind a generator can emit."""
    return {kind for g in GENERATORS for kind in g.kinds}


def derived_names(me: ModelEnv) -> list[tuple[str, str]]:
    """(what, name) of every name the generators that apply to `me` derive from the model name
    (with its environment's namespace): each must fit Kubernetes' 63 characters."""
    model = me.model
    return [found for g in GENERATORS if g.applies(model) for found in g.names(model)]


def name_references() -> list[NameReference]:
    """The kustomize `nameReference` entries the generated kinds need, one per referenced kind."""
    found = [ref for g in GENERATORS for ref in g.name_references]
    referenced = [ref["kind"] for ref in found]
    assert len(set(referenced)) == len(referenced), f"a kind's name reference is declared twice: {referenced}"
    return found
