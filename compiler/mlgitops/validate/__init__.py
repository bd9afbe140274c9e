"""Validation support: JSON schemas for the custom resources mlgitops generates."""
