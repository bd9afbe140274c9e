"""The order `kubectl kustomize` prints objects in, and `kustomize build -o DIR` file names.

Without `sortOptions`, kustomize sorts with the legacy order
(`api/internal/builtins/SortOrderTransformer.go`): kinds listed in ORDER_FIRST first, in that
order, then every other kind, then ORDER_LAST; within the same rank by
`group_version_kind` (missing parts spelled `~G`, `~V`, `~K`; two Namespace kinds of which one
has no group compare the other way round); objects of the same type by
`kind.version.group|namespace|name` (`~X` for no namespace). `sortOptions: {order: fifo}`
keeps the accumulation order; `legacySortOptions` replace the two kind lists.
"""

from __future__ import annotations

import functools
from typing import Iterable, Sequence, TypeVar

from .fieldspecs import ORDER_FIRST, ORDER_LAST, split_group_version, type_orders
from .resource import Resource


def _gvk(r: Resource) -> tuple[str, str, str]:
    group, version = split_group_version(str(r.obj.get("apiVersion") or ""))
    return group, version, str(r.obj.get("kind") or "")


def _gvk_string(group: str, version: str, kind: str) -> str:
    return "_".join((group or "~G", version or "~V", kind or "~K"))


def _id_string(group: str, version: str, kind: str, namespace: str, name: str) -> str:
    gvk = ".".join((kind or "[noKind]", version or "[noVer]", group or "[noGrp]"))
    return "|".join((gvk, namespace or "~X", name or "~N"))


_R = TypeVar("_R", bound=Resource)


def legacy_sort(resources: Sequence[_R], order_first: Iterable[str] = ORDER_FIRST,
                order_last: Iterable[str] = ORDER_LAST) -> list[_R]:
    """Resources in kustomize's legacy order (a total order, so the sort algorithm is irrelevant)."""
    orders = type_orders(order_first, order_last)
    keyed = []
    for r in resources:
        group, version, kind = _gvk(r)
        meta = m if isinstance(m := r.obj.get("metadata"), dict) else {}
        ns, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
        keyed.append(((group, version, kind), _gvk_string(group, version, kind),
                      orders.get(kind, 0), _id_string(group, version, kind, ns, name), r))

    def less(a: tuple, b: tuple) -> bool:
        if a[0] != b[0]:
            if a[2] != b[2]:
                return a[2] < b[2]
            if a[0][2] == "Namespace" and b[0][2] == "Namespace" and (a[0][0] == "" or b[0][0] == ""):
                return a[1] > b[1]
            return a[1] < b[1]
        return a[3] < b[3]

    def cmp(a: tuple, b: tuple) -> int:
        if less(a, b):
            return -1
        if less(b, a):
            return 1
        return 0

    keyed.sort(key=functools.cmp_to_key(cmp))
    return [k[-1] for k in keyed]


def output_file_name(r: Resource, namespace_prefix: str = "") -> str:
    """`kustomize build -o DIR` file name: `[<namespace>_]<group>_<version>_<kind>_<name>.yaml`,
    lowercased; the namespace part only when the objects span several namespaces."""
    group, version, kind = _gvk(r)
    gvk = "_".join(p for p in (group, version, kind) if p)
    name = f"{gvk.lower()}_{str(r.name).lower()}.yaml"
    if namespace_prefix:
        name = f"{namespace_prefix.lower()}_{name}"
    return name
