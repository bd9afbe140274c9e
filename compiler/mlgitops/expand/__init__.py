"""Expand one resolved model (one environment) into Kubernetes objects, one module per kind."""
