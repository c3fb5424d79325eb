-- Source: every published table needs a replica identity so UPDATE and DELETE can be
-- replicated. Both tables have a primary key, which DEFAULT uses.
ALTER TABLE utilisateur REPLICA IDENTITY DEFAULT;
ALTER TABLE tache REPLICA IDENTITY DEFAULT;
