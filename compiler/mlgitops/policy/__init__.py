"""Policies as code: CEL evaluation with the Kubernetes CEL libraries and cost limits."""
