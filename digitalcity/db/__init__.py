"""Database access: embedded cluster, engine, layer tables and their versions."""
