"""Dynatrace ingest: security problems and attacks read from a Dynatrace environment's API v2 and
put on the bus as canonical ``secnotify`` events (README "Dynatrace ingest")."""
