"""Bounded YAML: refuse alias bombs and deep nesting before any reader builds a document.

One job: one check every YAML reader of mlgitops runs on a text before building it (yamlsource.load_yaml
for models, mlgitops.yaml, policies and policy tests; validate.documents; the kustomize loader and
its JSON patches). It walks libyaml's events (C parser, no Python nodes) and

* counts, per document, the nodes the document has once its aliases are expanded: an anchor's
  count includes what its own aliases expand to, and an alias adds its anchor's count each time it
  is used. Beyond `MAX_ALIAS_NODES` the text is refused at that alias (`input.alias-bomb`), as
  Kubernetes' YAML decoder refuses "excessive aliasing"; the "billion laughs" never gets built;
* refuses an alias to an anchor whose node is still open (`a: &a [*a]`): a cycle no JSON value
  can hold (`input.alias-bomb`);
* refuses nesting deeper than `MAX_DEPTH` (`input.too-deep`), also when libyaml itself (0.2.6+
  refuses 1,000 levels) stops first, so the verdict and the rule are the same on every libyaml.

Both walks are skipped when the text cannot need them, so the common path costs a few string
scans: aliases only when the text holds something that looks like one (`*name` after a space,
`[`, `{`, `,` or `:`, with an `&` somewhere); depth only when a cheap upper bound of the nesting
(`depth_bound`) is above the limit. Malformed YAML is left to the caller's loader, which words
the syntax error.
"""

from __future__ import annotations

import re

import yaml
from yaml._yaml import CParser

from . import fastyaml
from yaml.events import (AliasEvent, CollectionStartEvent, DocumentStartEvent, MappingEndEvent, ScalarEvent,
                         SequenceEndEvent, StreamEndEvent)

MAX_ALIAS_NODES = 1_000_000  # expanded nodes per document, for every reader
MAX_DEPTH = 200  # nesting levels, for every reader: real Kubernetes objects stay far below
ALIAS_RULE = "input.alias-bomb"
DEPTH_RULE = "input.too-deep"

# `*name` where an alias can start: after whitespace, a flow indicator or a colon.
_ALIAS = re.compile(r"[\s\[{,:]\*[^\s\[\]{},]")
# The part of each line before its first block key or scalar: indentation and `- ` / `? ` indicators.
_LEAD = re.compile(r"\n[ \t?-]*")


class Refused(Exception):
    """A text the guard refuses: rule, 1-based line and column (of the alias or the too-deep node), message."""

    def __init__(self, rule: str, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.line = line
        self.column = column
        self.message = message


def may_alias(text: str) -> bool:
    """Whether the text may hold an alias (false positives only cost a walk)."""
    return "*" in text and "&" in text and _ALIAS.search(text) is not None


def depth_bound(text: str) -> int:
    """An upper bound of the text's nesting depth, from string scans only.

    Nested block collections start at non-decreasing columns, strictly increasing at least every
    second level (an indentless sequence shares its mapping's column), and a block collection starts
    only after the line's indentation and `- `/`? ` indicators: so block depth is at most
    2 x (the longest such lead + 1). Each flow level needs its own `[` or `{`."""
    lead = max(map(len, _LEAD.findall("\n" + text)), default=1)  # includes the newline: + 1
    return 2 * lead + 1 + text.count("[") + text.count("{")


def check(text: str, *, max_nodes: int = MAX_ALIAS_NODES, max_depth: int = MAX_DEPTH) -> None:
    """Raise Refused when the text's aliases expand beyond `max_nodes` nodes in a document, an alias
    closes a cycle, or it nests deeper than `max_depth`; else return (malformed YAML included)."""
    aliases = may_alias(text)
    if aliases or depth_bound(text) > max_depth:
        _walk(text, max_nodes if aliases else None, max_depth)


def _walk(text: str, max_nodes: int | None, max_depth: int) -> None:
    parser = CParser(text)
    try:
        _events(parser.get_event, max_nodes, max_depth)
    except yaml.YAMLError as exc:
        if fastyaml.is_depth_error(exc):  # libyaml 0.2.6 stops at 1,000 levels
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            raise Refused(DEPTH_RULE, line, column, too_deep_message(max_depth)) from None
        # anything else malformed: the caller's loader reports it
    finally:
        parser.dispose()


def too_deep_message(max_depth: int) -> str:
    return f"YAML nests deeper than {max_depth} levels; refusing it (no Kubernetes object or mlgitops file does)"


def _events(next_event, max_nodes: int | None, max_depth: int) -> None:
    counts: dict[str, int] = {}  # anchor -> expanded nodes of its node (closed nodes only)
    open_anchors: set[str] = set()
    stack: list[list] = []  # open collections: [expanded nodes so far, anchor]
    total = 0
    while True:
        event = next_event()
        kind = type(event)
        if kind is ScalarEvent:
            total += 1
            if event.anchor is not None:
                counts[event.anchor] = 1
            if stack:
                stack[-1][0] += 1
        elif isinstance(event, CollectionStartEvent):
            if len(stack) >= max_depth:
                mark = event.start_mark
                line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                raise Refused(DEPTH_RULE, line, column, too_deep_message(max_depth))
            total += 1
            if event.anchor is not None:
                open_anchors.add(event.anchor)
            stack.append([1, event.anchor])
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            size, anchor = stack.pop()
            if anchor is not None:
                counts[anchor] = size
                open_anchors.discard(anchor)
            if stack:
                stack[-1][0] += size
        elif kind is AliasEvent:
            if max_nodes is None:
                continue
            anchor = event.anchor
            mark = event.start_mark
            if anchor in open_anchors:
                raise Refused(ALIAS_RULE, mark.line + 1, mark.column + 1,
                              f"alias *{anchor} is inside the node of its own anchor &{anchor}: "
                              "a cycle that expands forever; refusing it")
            size = counts.get(anchor)
            if size is None:
                return  # an undefined alias: the loader words the error
            total += size
            if total > max_nodes:
                raise Refused(ALIAS_RULE, mark.line + 1, mark.column + 1,
                              f"YAML aliases expand to more than {max_nodes:,} nodes; refusing it "
                              "(Kubernetes refuses excessive aliasing too)")
            if stack:
                stack[-1][0] += size
        elif kind is DocumentStartEvent:  # anchors and counts are per document
            counts.clear()
            open_anchors.clear()
            total = 0
        elif kind is StreamEndEvent:
            return
