-- Source: the logical replication slot, with the pgoutput plugin that Airbyte's CDC and
-- PostgreSQL subscriptions both read. Needs wal_level=logical (set at server start).
SELECT pg_create_logical_replication_slot('airbyte_slot', 'pgoutput')
WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = 'airbyte_slot');
