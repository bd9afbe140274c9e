"""Expand one resolved model (one environment) into Kubernetes objects: one generator per kind
(expand/generator.py), listed in expand/registry.py. Importing the package imports the registry,
which registers the model-file sections generators own (the model schema needs them)."""

from . import registry as registry  # noqa: F401  (registers the generators' sections)
