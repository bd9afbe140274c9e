"""A kustomize-compatible render engine (kustomize v5 semantics, `kubectl kustomize` output).

Modules, one job each:
  resource.py        Resource: one object with its origin and previous names; resource ids
  errors.py          RenderError: a finding at a kustomization file and line
  loader.py          reads kustomization files, resources, components, crds (paths, cycles, root)
  v3events.py        the loader's fast path: resource documents built from libyaml's events
  engine.py          render(path) -> list[Resource]: accumulate, generate, transform, fix names, order
  strategicmerge.py  strategic-merge patches (merge keys of core kinds, $patch directives)
  jsonpatch.py       RFC 6902 JSON patches
  selectors.py       patch `target` selectors (group, version, kind, name regex, labels, annotations)
  generators.py      configMapGenerator / secretGenerator with kustomize's content hash
  fieldspecs.py      built-in field specs (namespace, prefix/suffix, labels, images, replicas, names)
  transformers.py    namespace, prefix/suffix, labels, annotations, images, replicas
  namereference.py   rewrites references to renamed objects
  order.py           kustomize's legacy kind order for output
"""
