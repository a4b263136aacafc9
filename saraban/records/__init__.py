"""Records: the database, its models and migrations, the registers (gapless, per office, per year) and the events."""
