"""mlgitops: compile short ML model specs into validated Kustomize overlays for Argo CD."""

__version__ = "0.1.0"
