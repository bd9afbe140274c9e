"""The Model spec: schema, loading with positions, resolution per environment, checks."""
