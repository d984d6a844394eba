"""Use cases: what the API and the dispatcher do, on top of models, storage, matching,
templating and delivery."""
