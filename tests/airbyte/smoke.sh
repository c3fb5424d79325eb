#!/usr/bin/env bash
# End-to-end check of sync.py against two throwaway PostgreSQL servers (source with
# wal_level=logical, destination), set up with the project's sql/ scripts (minus pgvector).
#
#   tests/airbyte/smoke.sh [PG_BIN_DIR]     # default /usr/lib/postgresql/15/bin
#
# Needs .ci/install-debezium. As root, the servers run as the `postgres` user. Prints one
# line per check and `N passed, N failed`; removes everything it made (SMOKE_KEEP=1 keeps
# the state files and logs: the directory is printed).
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=${1:-/usr/lib/postgresql/15/bin}
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

dir=$(mktemp -d /tmp/syncwatch-airbyte-smoke.XXXXXX)
chmod 755 "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
sport=$(port); dport=$(port)
cleanup() {
  for n in src dst; do run "$bin/pg_ctl" -D "$dir/$n" -m immediate stop >/dev/null 2>&1 || true; done
  if [ "${SMOKE_KEEP:-}" = 1 ]; then rm -rf "$dir/src" "$dir/dst"; echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

for n in src dst; do run "$bin/initdb" -D "$dir/$n" -U postgres --auth=trust -E UTF8 >/dev/null; done
run "$bin/pg_ctl" -D "$dir/src" -l "$dir/src.log" -w start \
  -o "-p $sport -k $dir -c listen_addresses=127.0.0.1 -c wal_level=logical" >/dev/null
run "$bin/pg_ctl" -D "$dir/dst" -l "$dir/dst.log" -w start \
  -o "-p $dport -k $dir -c listen_addresses=127.0.0.1" >/dev/null

psql_() { PGPASSWORD=airbyte psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U "${3:-airbyte}" -d tasks_list -Atc "$2"; }
for p in $sport $dport; do
  PGPASSWORD= psql -X -q -h 127.0.0.1 -p "$p" -U postgres -d postgres \
    -c "CREATE ROLE airbyte LOGIN PASSWORD 'airbyte'" -c "CREATE DATABASE tasks_list OWNER airbyte"
done
psql_ "$sport" "ALTER ROLE airbyte REPLICATION" postgres
for f in sql/10-schema.sql sql/30-replica-identity.sql sql/40-publication.sql sql/50-slot.sql; do
  PGPASSWORD=airbyte psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$sport" -U airbyte -d tasks_list -f "$f" >/dev/null
done
psql_ "$sport" "SELECT 1 FROM pg_create_logical_replication_slot('airbyte_slot2', 'pgoutput')" >/dev/null
psql_ "$sport" "INSERT INTO utilisateur (username, email) SELECT 'user'||g, 'user'||g||'@example.com' FROM generate_series(1, 5) g;
  INSERT INTO tache (title, description, due_date, is_completed, utilisateur_id)
  SELECT 'task '||g, 'desc '||g, date '2024-01-01' + g, g % 2 = 0, 1 + g % 5 FROM generate_series(1, 20) g"

src="host=127.0.0.1 port=$sport user=airbyte password=airbyte dbname=tasks_list"
dst="host=127.0.0.1 port=$dport user=airbyte password=airbyte dbname=tasks_list"
sync() { python3 tests/airbyte/sync.py --source "$src" --dest "$dst" --publication airbyte_publication "$@"; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
slot() { psql_ "$sport" "SELECT $2 FROM pg_replication_slots WHERE slot_name = '$1'"; }

pass=0; fail=0
check() { # name expected actual
  if [ "$2" = "$3" ]; then echo "ok   $1"; pass=$((pass+1)); else echo "FAIL $1: expected '$2', got '$3'"; fail=$((fail+1)); fi
}

# Connection A: hard deletes, public schema.
out=$(sync --slot airbyte_slot --state "$dir/a/state.json")
echo "sync A1: $out"
check "A1 first sync loads every row" 25 "$(field "$out" rows)"
check "A1 destination rows" "5 20" "$(psql_ "$dport" "SELECT (SELECT count(*) FROM utilisateur) || ' ' || (SELECT count(*) FROM tache)")"
check "A1 no primary key constraint" 0 "$(psql_ "$dport" "SELECT count(*) FROM pg_constraint WHERE conrelid = 'tache'::regclass AND contype = 'p'")"
check "A1 indexes" "idx_cursor_tache idx_extracted_at_tache idx_pk_tache" \
  "$(psql_ "$dport" "SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'tache'")"
check "A1 widened id type" bigint "$(psql_ "$dport" "SELECT data_type FROM information_schema.columns WHERE table_name = 'tache' AND column_name = 'id'")"
a1_state=$(field "$out" state_lsn)
check "slot inactive after A1" f "$(slot airbyte_slot active)"
check "A1: slot confirmed only its start LSN" "$(field "$out" confirmed_at_start)" "$(slot airbyte_slot confirmed_flush_lsn)"

out=$(sync --slot airbyte_slot2 --state "$dir/b/state.json" --soft-delete --prefix ab_ --dest-schema "Airbyte Data")
echo "sync B1: $out"
check "B1 prefix + schema" 20 "$(psql_ "$dport" 'SELECT count(*) FROM "Airbyte_Data".ab_tache')"

psql_ "$sport" "INSERT INTO tache (title, due_date, utilisateur_id) VALUES ('new', '2025-01-01', 1);
  UPDATE tache SET title = 'changed' WHERE id = 2; DELETE FROM tache WHERE id = 3;
  UPDATE utilisateur SET email = 'new@example.com' WHERE id = 1"
sleep 2
check "between syncs: slot inactive" f "$(slot airbyte_slot active)"
check "between syncs: confirmed_flush_lsn unchanged" "$(field "$out" confirmed_at_start)" "$(slot airbyte_slot2 confirmed_flush_lsn)"

t0=$(date +%s.%N)
out=$(sync --slot airbyte_slot --state "$dir/a/state.json")
t1=$(date +%s.%N)
echo "sync A2: $out"
check "A2 confirms A1's offset at start" "$a1_state" "$(field "$out" confirmed_at_start)"
check "A2 counts" "1 2 1" "$(field "$out" inserted) $(field "$out" updated) $(field "$out" deleted)"
check "A2 hard delete" 0 "$(psql_ "$dport" "SELECT count(*) FROM tache WHERE id = 3")"
check "A2 update" changed "$(psql_ "$dport" "SELECT title FROM tache WHERE id = 2")"
check "A2 insert (20 + 1 - 1)" 20 "$(psql_ "$dport" "SELECT count(*) FROM tache")"
check "A2 slot still at A1's offset" "$a1_state" "$(slot airbyte_slot confirmed_flush_lsn)"

out=$(sync --slot airbyte_slot2 --state "$dir/b/state.json" --soft-delete --prefix ab_ --dest-schema "Airbyte Data")
echo "sync B2: $out"
check "B2 soft delete keeps the row" "1 true" \
  "$(psql_ "$dport" "SELECT count(*) || ' ' || bool_and(_ab_cdc_deleted_at IS NOT NULL) FROM \"Airbyte_Data\".ab_tache WHERE id = 3")"
check "B2 counts" "1 2 1" "$(field "$out" inserted) $(field "$out" updated) $(field "$out" deleted)"

echo "one sync (JVM start included): $(python3 -c "print(round($t1 - $t0, 1))") s"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
