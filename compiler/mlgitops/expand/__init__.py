"""Expand one resolved model (one environment) into Kubernetes objects: one generator per kind,
listed in registry.py."""
