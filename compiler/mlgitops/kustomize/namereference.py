"""Rewrites references to renamed objects (kustomize's nameReferenceTransformer and filters/nameref).

After every transformer and the hash suffixes, a field listed in a `nameReference` entry (the
built-in ones, plus `configurations:` of any kustomization or component in the build) that
holds the *previous* name of an object of the entry's kind is set to that object's current
name. A reference can only follow an object that was renamed (kustomize only looks at
previous names), in the referrer's namespace unless either side is cluster-scoped or the
target is a ServiceAccount. Fields holding a mapping (RoleBinding `subjects`) carry the name
and namespace; lists are handled item by item. Several equally good candidates are an error,
unless they are the same name (and namespace).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from .fieldspecs import FieldSpec, NameBackReference, TOTALLY_NOT_A_NAMESPACE, gvk_selected, is_cluster_scoped
from .memo import Memo
from .transformers import TransformError, Tracked, apply_fieldspec, cur_id, go_str, id_str, obj_namespace, prev_ids


def fix_name_references(resources: list[Tracked], refs: Iterable[NameBackReference]) -> None:
    refs = tuple(refs)
    if not refs:
        return
    index = _Index(resources)
    filters: dict[int, list] = {}
    for i, rid in enumerate(index.orgs):
        selected = _referrer_specs(refs, (rid[0], rid[1], rid[2]))
        if selected:
            filters[i] = selected
    if not filters:
        return
    for i in sorted(filters):
        referrer = resources[i]
        candidates = index.referable_by(referrer)
        for spec, target in filters[i]:
            fixer = _Fixer(referrer, spec, target, candidates, index)
            try:
                apply_fieldspec(referrer.obj, FieldSpec(path=spec.path), fixer.set, None)
            except TransformError as exc:
                raise TransformError(f"updating name reference in '{spec.path}' field of "
                                     f"{id_str(cur_id(referrer))}: {exc}") from None


# refs -> {(group, version, kind) of a referrer -> its (field spec, referred gvk) pairs, in refs
# order}. The configuration of every overlay using the same components is the same (memoised)
# tuple, so the table is kept by its identity (the entry holds the tuple, so its id stays its own).
_SELECTED = Memo(max_entries=32, max_weight=32)
_SELECTED_GVKS = 4096  # a table is started over past this many kinds


def _referrer_specs(refs: tuple, gvk: tuple) -> list:
    """The (field spec, referred group/version/kind) of every name reference field an object of
    `gvk` has, in the order of `refs` and their referrers (the order kustomize fixes them in)."""
    entry = _SELECTED.get(id(refs))
    if entry is None or entry[0] is not refs or len(entry[1]) > _SELECTED_GVKS:
        entry = (refs, {})
        _SELECTED.put(id(refs), entry, 1)
    table = entry[1]
    found = table.get(gvk)
    if found is None:
        found = table[gvk] = [(spec, (ref.group, ref.version, ref.kind)) for ref in refs for spec in ref.referrers
                              if gvk_selected(gvk[0], gvk[1], gvk[2], spec.group, spec.version, spec.kind)]
    return found


class _Index:
    """Ids of every resource, computed once (name references never rename objects)."""

    def __init__(self, resources: list[Tracked]) -> None:
        self.resources = resources
        self.cur = {id(r): cur_id(r) for r in resources}
        self.prev = {id(r): prev_ids(r) for r in resources}
        self.orgs = [self.prev[id(r)][0] if self.prev[id(r)] else self.cur[id(r)] for r in resources]
        self.org = {id(r): o for r, o in zip(resources, self.orgs)}
        self.cluster = {id(r): _is_cluster(r) for r in resources}
        self.by_prev_name: dict[str, list[Tracked]] = {}
        for r in resources:
            seen = set()
            for p in self.prev[id(r)]:
                if p[3] not in seen:
                    seen.add(p[3])
                    self.by_prev_name.setdefault(p[3], []).append(r)

    def referable_by(self, referrer: Tracked) -> list[Tracked]:
        """resWrangler.SubsetThatCouldBeReferencedByResource."""
        if self.cluster[id(referrer)]:
            return self.resources
        ref_ns = self.cur[id(referrer)][4]
        binding_namespaces: set = set()
        if referrer.obj.get("kind") == "RoleBinding":
            subjects = referrer.obj.get("subjects")
            if isinstance(subjects, list):
                for subject in subjects:
                    if isinstance(subject, dict) and "namespace" in subject and "kind" in subject \
                            and subject["kind"] == "ServiceAccount":
                        ns = subject["namespace"]
                        if not isinstance(ns, str):
                            raise TransformError(f"Invalid Input: namespace is blank for resource "
                                                 f"{id_str(self.cur[id(referrer)])}")
                        binding_namespaces.add(ns)
        out = []
        for target in self.resources:
            ns = self.cur[id(target)][4]
            if ns == TOTALLY_NOT_A_NAMESPACE or ns == ref_ns or (
                    binding_namespaces and obj_namespace(target.obj) in binding_namespaces):
                out.append(target)
        return out


def _is_cluster(r: Tracked) -> bool:
    return is_cluster_scoped(go_str(r.obj.get("apiVersion")), go_str(r.obj.get("kind")))


def _same_ending(a: list, b: list) -> bool:
    """utils.SameEndingSubSlice."""
    if len(a) > len(b):
        a, b = b, a
    diff = len(b) - len(a)
    if not a:
        return diff == 0
    return all(b[i + diff] == a[i] for i in range(len(a)))


def _affixes_equal(r: Tracked, other: Tracked, allow_empty: bool) -> bool:
    if allow_empty:
        prefix_ok = not r.prefixes or not other.prefixes or _same_ending(r.prefixes, other.prefixes)
        suffix_ok = not r.suffixes or not other.suffixes or _same_ending(r.suffixes, other.suffixes)
        return prefix_ok and suffix_ok
    return _same_ending(r.prefixes, other.prefixes) and _same_ending(r.suffixes, other.suffixes)


class _Fixer:
    def __init__(self, referrer: Tracked, spec: FieldSpec, target: tuple, candidates: list[Tracked],
                 index: _Index) -> None:
        self.referrer = referrer
        self.spec = spec
        self.target = target
        self.candidates = candidates
        self.index = index
        self._candidate_ids: set[int] | None = None

    # filters/nameref Filter.set
    def set(self, container: Any, key: Any) -> None:
        node = container[key]
        if node is None:
            return
        if isinstance(node, dict):
            self._set_mapping(node)
        elif isinstance(node, list):
            for j, item in enumerate(node):
                if item is None:
                    continue
                if isinstance(item, dict):
                    self._set_mapping(item)
                elif isinstance(item, list):
                    raise TransformError("a name reference list item must be a string or a mapping")
                else:
                    self._set_scalar(node, j)
        else:
            self._set_scalar(container, key)

    def _set_scalar(self, container: Any, key: Any) -> None:
        old = go_str(container[key])
        referral = self._select(old, None, _same_names)
        if referral is None:
            return
        if referral.name != old:
            container[key] = referral.name

    def _set_mapping(self, node: dict) -> None:
        if "name" not in node:
            raise TransformError("path config error; no 'name' field in node")
        candidates = self._by_namespace(node)
        old = go_str(node["name"])
        referral = self._select(old, candidates, _same_names_and_namespaces)
        if referral is None:
            return
        if referral.name == old and referral.namespace == "":
            return
        node["name"] = referral.name
        if referral.namespace == "":
            return
        node["namespace"] = referral.namespace

    def _by_namespace(self, node: dict) -> list[Tracked] | None:
        if "namespace" not in node:
            return None
        namespace = go_str(node["namespace"])
        if namespace == TOTALLY_NOT_A_NAMESPACE:
            return []
        index = self.index
        by_org = [r for r in self.candidates if index.org[id(r)][4] == namespace]
        if by_org:
            return by_org
        return [r for r in self.candidates if index.cur[id(r)][4] == namespace]

    def _select(self, old: str, candidates: list[Tracked] | None, identical: Callable[[list], bool]) -> Tracked | None:
        index = self.index
        if candidates is None:  # all candidates: start from the objects once named `old`
            if self._candidate_ids is None:
                self._candidate_ids = {id(r) for r in self.candidates}
            out = [r for r in index.by_prev_name.get(old, ()) if id(r) in self._candidate_ids]
        else:
            out = [r for r in candidates if any(p[3] == old for p in index.prev[id(r)])]
        g, v, k = self.target
        out = [r for r in out if any(gvk_selected(p[0], p[1], p[2], g, v, k) for p in index.prev[id(r)])]
        if self.spec.path.endswith("roleRef/name"):
            role_ref = self.referrer.obj.get("roleRef")
            if isinstance(role_ref, dict) and role_ref.get("apiGroup") is not None \
                    and role_ref.get("kind") is not None:
                rg, rk = go_str(role_ref["apiGroup"]), go_str(role_ref["kind"])
                out = [r for r in out if any(gvk_selected(p[0], p[1], p[2], rg, "", rk) for p in index.prev[id(r)])]
        if not index.cluster[id(self.referrer)]:
            ref_ns = index.cur[id(self.referrer)][4]
            out = [r for r in out
                   if index.cluster[id(r)] or r.obj.get("kind") == "ServiceAccount" or index.cur[id(r)][4] == ref_ns]
        if len(out) == 1:
            return out[0]
        out = [r for r in out if _affixes_equal(r, self.referrer, True)]
        if len(out) > 1:
            out = [r for r in out if _affixes_equal(r, self.referrer, False)]
        if len(out) == 1:
            return out[0]
        if not out:
            return None
        if identical(out):
            return out[0]
        ids = ", ".join(id_str(index.cur[id(r)]) for r in out)
        raise TransformError(f"found multiple possible referrals for '{old}': {ids}")


def _same_names(rs: list[Tracked]) -> bool:
    return all(r.name == rs[0].name for r in rs)


def _same_names_and_namespaces(rs: list[Tracked]) -> bool:
    return all(r.name == rs[0].name and r.namespace == rs[0].namespace for r in rs)
