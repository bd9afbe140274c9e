"""Render a command's findings in one of the output formats every reporting command offers.

`text` is for people (`path:line:col: severity: message [rule]`, printed on stderr); `json`,
`github` (workflow commands that annotate a pull request), `sarif` (2.1.0, for code scanning)
and `junit` (for CI test reports) are for machines and go on stdout. Every format is
deterministic: findings in `Diagnostics.sorted()` order, keys and rules in a fixed order.
"""

from __future__ import annotations

import json
import os
import re
from typing import Iterable

import click

from . import __version__
from .diagnostics import ERROR, INFO, WARNING, Diagnostic, Diagnostics

FORMATS = ("text", "json", "github", "sarif", "junit")

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_COLOURS = {ERROR: "red", WARNING: "yellow", INFO: "cyan"}
_GITHUB_COMMANDS = {ERROR: "error", WARNING: "warning", INFO: "notice"}
_SARIF_LEVELS = {ERROR: "error", WARNING: "warning", INFO: "note"}
# Characters XML 1.0 cannot hold even escaped (C0 controls other than tab, newline, return; FFFE, FFFF).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render_report(diags: Diagnostics, fmt: str, *, command: str, summary: dict | None = None,
                  rules: dict[str, str] | None = None, color: bool = False, files: Iterable[str] = ()) -> str:
    """The report of one run of `mlgitops COMMAND` in `fmt` (one of FORMATS), ending in a newline.

    `summary` holds the command's own counts (json keeps them as top-level keys); `rules` maps
    rule ids to a one-line description for SARIF, over the catalogue's (catalogue.py), e.g. a
    policy's own description of its `policy.<name>`; `files` lists the inputs, so JUnit can show
    a passing test case for each file without findings. Text with no findings is "".
    """
    items = diags.sorted()
    if fmt == "text":
        return "".join(_text_line(d, color) + "\n" for d in items)
    if fmt == "json":
        return json.dumps({**(summary or {}), "errors": diags.count(ERROR), "warnings": diags.count(WARNING),
                           "diagnostics": [d.as_dict() for d in items]}, indent=2, sort_keys=True) + "\n"
    if fmt == "github":
        return _github(items, command, diags)
    if fmt == "sarif":
        return json.dumps(_sarif(items, rules or {}), indent=2) + "\n"
    if fmt == "junit":
        return _junit(items, command, list(files))
    raise ValueError(f"unknown report format {fmt!r} (known: {', '.join(FORMATS)})")


def _text_line(d: Diagnostic, color: bool) -> str:
    text = d.format()
    colour = _COLOURS.get(d.severity)
    if not (color and colour):
        return text
    head, sep, tail = text.partition(f": {d.severity}: ")
    if not sep:
        return text
    return f"{head}: {click.style(d.severity, fg=colour, bold=True)}: {tail}"


def _counts(diags: Diagnostics) -> str:
    return f"{diags.count(ERROR)} error(s), {diags.count(WARNING)} warning(s), {diags.count(INFO)} notice(s)"


# --- GitHub workflow commands -------------------------------------------------------------------

def github_escape_data(text: str) -> str:
    """A workflow command's message, escaped as the Actions toolkit does (`%`, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_escape_property(text: str) -> str:
    """A workflow command property value: the data escapes plus `:` and `,`."""
    return github_escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _github(items: list[Diagnostic], command: str, diags: Diagnostics) -> str:
    lines = []
    for d in items:
        props = [("file", d.file)] if d.file else []
        if d.line:
            props.append(("line", str(d.line)))
            if d.column:
                props.append(("col", str(d.column)))
        props.append(("title", d.rule))
        rendered = ",".join(f"{key}={github_escape_property(value)}" for key, value in props)
        lines.append(f"::{_GITHUB_COMMANDS.get(d.severity, 'notice')} {rendered}::{github_escape_data(d.message)}")
    lines.append(f"mlgitops {command}: {_counts(diags)}")
    return "\n".join(lines) + "\n"


# --- SARIF 2.1.0 --------------------------------------------------------------------------------

def _artifact_location(file: str) -> dict:
    """A repo-relative path becomes a URI under %SRCROOT%; an absolute one a file: URI."""
    import pathlib  # SARIF and JUnit only: the text output (every build) does without them
    import urllib.parse

    path = file.replace(os.sep, "/")
    if os.path.isabs(file):
        return {"uri": pathlib.Path(file).as_uri()}
    return {"uri": urllib.parse.quote(path, safe="/-._~"), "uriBaseId": "%SRCROOT%"}


def _sarif(items: list[Diagnostic], descriptions: dict[str, str]) -> dict:
    rule_ids = sorted({d.rule for d in items})
    index = {rule: i for i, rule in enumerate(rule_ids)}
    results = []
    for d in items:
        result: dict = {"ruleId": d.rule, "ruleIndex": index[d.rule], "level": _SARIF_LEVELS.get(d.severity, "note"),
                        "message": {"text": d.message}}
        if d.file:
            physical: dict = {"artifactLocation": _artifact_location(d.file)}
            if d.line:
                physical["region"] = {"startLine": d.line, "startColumn": d.column or 1}
            result["locations"] = [{"physicalLocation": physical}]
        results.append(result)
    rules = [_sarif_rule(rule, descriptions) for rule in rule_ids]
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "mlgitops", "version": __version__, "rules": rules}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def _sarif_rule(rule_id: str, descriptions: dict[str, str]) -> dict:
    """A reportingDescriptor: the caller's description of the rule, else the catalogue's; the
    catalogue's help as fullDescription and its default severity as the default level. (The
    catalogue gathers the rule units, so it is imported only when a SARIF report is made.)"""
    from . import catalogue

    descriptor: dict = {"id": rule_id, "shortDescription": {"text": descriptions.get(rule_id)
                                                            or catalogue.describe(rule_id)}}
    try:
        entry = catalogue.rule(rule_id)
    except KeyError:
        return descriptor
    if entry.help:
        descriptor["fullDescription"] = {"text": f"{catalogue.describe(rule_id)} {entry.help}"}
    descriptor["defaultConfiguration"] = {"level": _SARIF_LEVELS.get(entry.severity, "note")}
    return descriptor


# --- JUnit XML ----------------------------------------------------------------------------------

def _xml_text(text: str) -> str:
    """Text XML can hold: characters XML 1.0 forbids become `\\xNN` (ElementTree escapes the rest)."""
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _junit(items: list[Diagnostic], command: str, files: list[str]) -> str:
    import xml.etree.ElementTree as ET

    by_file: dict[str, list[Diagnostic]] = {}
    for name in files:
        by_file.setdefault(name, [])
    for d in items:
        by_file.setdefault(d.file, []).append(d)
    if not by_file:
        by_file[command] = []
    classname = f"mlgitops.{command.replace(' ', '.')}"
    root = ET.Element("testsuites", name=f"mlgitops {command}")
    total_tests = total_failures = 0
    for name in sorted(by_file):
        found = by_file[name]
        suite = ET.SubElement(root, "testsuite", name=_xml_text(name))
        failures = 0
        for d in found:
            where = f"{d.file}:{d.line}:{d.column or 1}" if d.line else d.file
            case = ET.SubElement(suite, "testcase", name=_xml_text(f"{where} [{d.rule}]"), classname=classname)
            if d.severity in (ERROR, WARNING):
                failures += 1
                failure = ET.SubElement(case, "failure", type=_xml_text(d.rule), message=_xml_text(d.message))
                failure.text = _xml_text(d.format())
            else:
                ET.SubElement(case, "system-out").text = _xml_text(d.format())
        if not found:
            ET.SubElement(suite, "testcase", name=_xml_text(name), classname=classname)
        tests = max(len(found), 1)
        suite.attrib.update(tests=str(tests), failures=str(failures), errors="0", skipped="0")
        total_tests += tests
        total_failures += failures
    root.attrib.update(tests=str(total_tests), failures=str(total_failures), errors="0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
