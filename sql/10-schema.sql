-- Both sides: the sample task-list schema (French: utilisateur = user, tache = task).
-- The destination needs the same tables for native logical replication to apply into.
CREATE TABLE IF NOT EXISTS utilisateur (
    id       serial PRIMARY KEY,
    username varchar(50)  NOT NULL UNIQUE,
    email    varchar(255) NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS tache (
    id             serial PRIMARY KEY,
    title          varchar(255) NOT NULL,
    description    text,
    due_date       date,
    is_completed   boolean NOT NULL DEFAULT false,
    utilisateur_id integer REFERENCES utilisateur (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS tache_utilisateur_id_idx ON tache (utilisateur_id);
