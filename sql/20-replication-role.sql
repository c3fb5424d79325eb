-- Source: the role that reads the slot needs the REPLICATION attribute.
-- (In the docker image `airbyte` is already a superuser; this keeps the guide's step.)
ALTER ROLE airbyte REPLICATION;
