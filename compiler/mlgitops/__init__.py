"""mlgitops: compile short ML model specs into validated Kustomize overlays for Argo CD."""

__version__ = "0.1.0"

# The generators own their sections of the model file (expand/registry.py registers them with
# spec/resolved.py). Loading the registry with the package means every entry point (build, the
# schema export, the reference docs, a test importing one module) sees the same model schema.
from .expand import registry as _registry  # noqa: E402,F401
