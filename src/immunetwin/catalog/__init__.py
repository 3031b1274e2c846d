"""The model catalogue: curated, annotated, searchable published immune models."""
