"""A hand-written page of one hall service, to compare the engine's speed against."""
