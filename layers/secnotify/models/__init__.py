"""Pydantic models: the API's resources, the normalised security event, delivery records."""
