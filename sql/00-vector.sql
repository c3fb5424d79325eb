-- Both sides: pgvector, which the guide installs on the source and the destination.
-- Needs the server's pgvector package (Debian/Ubuntu: postgresql-<major>-pgvector).
CREATE EXTENSION IF NOT EXISTS vector;
