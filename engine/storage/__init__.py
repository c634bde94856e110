"""Storage of the hall: database setup, models and column types."""
