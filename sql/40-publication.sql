-- Source: the publication that the slot's consumer reads.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = 'airbyte_publication') THEN
        CREATE PUBLICATION airbyte_publication FOR TABLE utilisateur, tache;
    END IF;
END
$$;
