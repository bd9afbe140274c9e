"""Schema locations as kubeconform v0.7.0 reads them: parse, check and expand the templates.

One job: turn a `-schema-location` value and an (apiVersion, kind) into the concrete path or
URL kubeconform would try (pkg/registry/registry.go). The rules copied from it:

- `default` stands for the built-in defaults (mlgitops: the repo's schemas/ directory, then the
  Kubernetes core schemas; see registry.py). It is never expanded here.
- A location whose text does not end in "json" is a base directory or URL:
  `/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`
  is appended to it verbatim (no slash handling, as kubeconform does).
- A location starting with "http" is fetched over HTTP; anything else is a local path, where a
  `file://` URL means its path.
- Template variables, for apiVersion `g/v` (or `v`) and kind `K`, Kubernetes version `x.y.z`:
  Group = the part before the first "/" (so "v1" for core objects), ResourceAPIVersion = the
  part after the last "/", ResourceKind = lower(K), KindSuffix = "-" + lower(first label of
  Group) + ("-" + the second part, when there is a "/"), NormalizedKubernetesVersion =
  "v" + x.y.z (or "master"), StrictSuffix = "-strict" under strict validation.

Only `{{ .Name }}` actions (any spacing) are supported; Go's other template syntax is refused
with a clear error, as an unknown field is (kubeconform fails to start on both).
"""

from __future__ import annotations

import re
import urllib.parse

DEFAULT = "default"
DEFAULT_SUFFIX = ("/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}"
                  "/{{ .ResourceKind }}{{ .KindSuffix }}.json")
VARIABLES = ("Group", "ResourceKind", "ResourceAPIVersion", "KindSuffix", "NormalizedKubernetesVersion",
             "StrictSuffix")
_VERSION_RE = re.compile(r"^(master|\d+\.\d+\.\d+)\Z")
_ACTION_RE = re.compile(r"\{\{(.*?)\}\}", re.S)
_FIELD_RE = re.compile(r"^\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\Z")


def full_template(location: str) -> str:
    """The location with kubeconform's default path appended when it is not a full template."""
    return location if location.endswith("json") else location + DEFAULT_SUFFIX


def is_http(location: str) -> bool:
    return location.startswith("http")


def local_path(concrete: str) -> str:
    """A concrete local location as a file path (`file://` URLs become their path)."""
    parsed = urllib.parse.urlsplit(concrete)
    return urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else concrete


def fixed_directory(template: str) -> str:
    """The directory part of a local full template that no template variable changes (the text
    before the first `{{`, up to its last "/"); "" when the template starts with a variable.
    The values of the variables come from the objects validated (their apiVersion and kind), so a
    concrete path is only read when it stays under this directory (registry.py)."""
    fixed = local_path(template.split("{{", 1)[0]) if "{{" in template else local_path(template)
    return fixed[:fixed.rfind("/") + 1] if "/" in fixed else ""


def _parts(template: str) -> list[tuple[str, str | None]]:
    """[(literal text, variable name or None)]; raises ValueError on unsupported actions."""
    out: list[tuple[str, str | None]] = []
    pos = 0
    for match in _ACTION_RE.finditer(template):
        field = _FIELD_RE.match(match.group(1))
        if not field:
            raise ValueError(f"unsupported template action {match.group(0)!r}: only "
                             + ", ".join("{{ ." + v + " }}" for v in VARIABLES) + " are supported")
        if field.group(1) not in VARIABLES:
            raise ValueError(f"unknown template variable {match.group(0)!r}: expected one of "
                             + ", ".join("." + v for v in VARIABLES))
        out.append((template[pos:match.start()], field.group(1)))
        pos = match.end()
    rest = template[pos:]
    if "{{" in rest:
        raise ValueError(f"unclosed template action in {template!r}")
    out.append((rest, None))
    return out


def variables(api_version: str, kind: str, kubernetes_version: str, strict: bool) -> dict[str, str]:
    """The template data kubeconform computes for one resource (registry.go schemaPath)."""
    group_parts = api_version.split("/")
    kind_suffix = "-" + group_parts[0].split(".")[0].lower()
    if len(group_parts) > 1:
        kind_suffix += "-" + group_parts[1].lower()
    return {
        "NormalizedKubernetesVersion": kubernetes_version if kubernetes_version == "master"
        else "v" + kubernetes_version,
        "StrictSuffix": "-strict" if strict else "",
        "ResourceKind": kind.lower(),
        "ResourceAPIVersion": group_parts[-1],
        "Group": group_parts[0],
        "KindSuffix": kind_suffix,
    }


def expand(template: str, api_version: str, kind: str, kubernetes_version: str, strict: bool) -> str:
    """The concrete path or URL `template` (already a full template) names for one resource."""
    data = variables(api_version, kind, kubernetes_version, strict)
    return "".join(text + (data[name] if name else "") for text, name in _parts(template))


def check_kubernetes_version(version: str) -> None:
    if not _VERSION_RE.match(version):
        raise ValueError(f"Kubernetes version {version!r} is not valid: use a full version x.y.z "
                         "(e.g. 1.33.0) or master, as kubeconform's -kubernetes-version")


def parse_locations(values: list[str]) -> list[str]:
    """Checked schema locations, in order, duplicates dropped; [] means ["default"].

    Raises ValueError naming the bad location and what is wrong with it.
    """
    out: list[str] = []
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("empty schema location: use 'default', a directory, a path template "
                             "or an http(s) URL template")
        if value != value.strip():
            raise ValueError(f"schema location {value!r} has leading or trailing spaces")
        if value != DEFAULT:
            if is_http(value) and not value.startswith(("http://", "https://")):
                raise ValueError(f"schema location {value!r} starts with 'http' but is not an http(s) URL; "
                                 f"kubeconform would fetch it over HTTP (write './{value}' for a local path)")
            try:
                expand(full_template(value), "apps/v1", "Deployment", "master", True)
            except ValueError as exc:
                raise ValueError(f"schema location {value!r}: {exc}") from None
        if value not in out:
            out.append(value)
    return out or [DEFAULT]
