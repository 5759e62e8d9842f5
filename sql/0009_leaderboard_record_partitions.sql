-- Nakama's leaderboard_record, partitioned by range of expiry_time: one partition per UTC day of
-- expiry (leaderboard_record_pYYYYMMDD) and one for the never-expiring bucket (expiry at the epoch,
-- leaderboard_record_p_epoch). Dropping an expired cycle is then a partition detach and drop, not a
-- delete of every row (db/record_partitions.py). Both of Nakama's keys include expiry_time, so the
-- table keeps every constraint, index and name it had: the queries and ON CONFLICT targets are
-- unchanged. A database created by Nakama keeps its rows: they are copied into the partitions.
-- Partitions are created when a bucket is first written (nakama_py_record_partition), never in
-- bulk ahead: every partition costs each query that cannot prune by expiry.

-- +migrate Up
CREATE OR REPLACE FUNCTION nakama_py_record_partition(day DATE) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    name TEXT := 'leaderboard_record_p' || to_char(day, 'YYYYMMDD');
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN;
    END IF;
    -- Processes writing a new day's first records at once: one creates it, the others wait and find it.
    PERFORM pg_advisory_xact_lock(hashtext(name));
    IF to_regclass(name) IS NOT NULL THEN
        RETURN;
    END IF;
    -- Created on its own and attached: ATTACH takes SHARE UPDATE EXCLUSIVE on the parent (reads and
    -- writes go on), CREATE ... PARTITION OF would take ACCESS EXCLUSIVE.
    EXECUTE format('CREATE TABLE %I (LIKE leaderboard_record INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    EXECUTE format('ALTER TABLE leaderboard_record ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name,
                   day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
EXCEPTION WHEN duplicate_table OR unique_violation OR invalid_object_definition THEN
    NULL; -- another process created it meanwhile
END
$$;

ALTER TABLE leaderboard_record RENAME TO leaderboard_record_unpartitioned;
ALTER TABLE leaderboard_record_unpartitioned RENAME CONSTRAINT leaderboard_record_pkey
    TO leaderboard_record_unpartitioned_pkey;
ALTER TABLE leaderboard_record_unpartitioned RENAME CONSTRAINT leaderboard_record_owner_id_leaderboard_id_expiry_time_key
    TO leaderboard_record_unpartitioned_owner_key;
ALTER TABLE leaderboard_record_unpartitioned RENAME CONSTRAINT leaderboard_record_leaderboard_id_fkey
    TO leaderboard_record_unpartitioned_leaderboard_id_fkey;
ALTER INDEX owner_id_expiry_time_leaderboard_id_idx RENAME TO leaderboard_record_unpartitioned_owner_idx;

CREATE TABLE leaderboard_record (
    leaderboard_id VARCHAR(128) NOT NULL,
    owner_id       UUID         NOT NULL,
    username       VARCHAR(128),
    -- Named as PostgreSQL named Nakama's (the old table still holds those names while this one is made).
    score          BIGINT       NOT NULL DEFAULT 0 CONSTRAINT leaderboard_record_score_check CHECK (score >= 0),
    subscore       BIGINT       NOT NULL DEFAULT 0 CONSTRAINT leaderboard_record_subscore_check CHECK (subscore >= 0),
    num_score      INT          NOT NULL DEFAULT 1 CONSTRAINT leaderboard_record_num_score_check CHECK (num_score >= 0),
    metadata       JSONB        NOT NULL DEFAULT '{}',
    create_time    TIMESTAMPTZ  NOT NULL DEFAULT now(),
    update_time    TIMESTAMPTZ  NOT NULL DEFAULT now(),
    expiry_time    TIMESTAMPTZ  NOT NULL DEFAULT '1970-01-01 00:00:00 UTC', -- epoch: never expires
    max_num_score  INT          NOT NULL DEFAULT 1000000,
    CONSTRAINT leaderboard_record_pkey PRIMARY KEY (leaderboard_id, expiry_time, score, subscore, owner_id),
    CONSTRAINT leaderboard_record_leaderboard_id_fkey FOREIGN KEY (leaderboard_id)
        REFERENCES leaderboard (id) ON DELETE CASCADE,
    CONSTRAINT leaderboard_record_owner_id_leaderboard_id_expiry_time_key
        UNIQUE (owner_id, leaderboard_id, expiry_time),
    CONSTRAINT check_max_num_score CHECK (max_num_score > 0)
) PARTITION BY RANGE (expiry_time);
CREATE INDEX owner_id_expiry_time_leaderboard_id_idx ON leaderboard_record (owner_id, expiry_time, leaderboard_id);

CREATE TABLE leaderboard_record_p_epoch PARTITION OF leaderboard_record
    FOR VALUES FROM (MINVALUE) TO ('1970-01-02 00:00:00+00');

SELECT nakama_py_record_partition(day)
  FROM (SELECT DISTINCT (expiry_time AT TIME ZONE 'UTC')::date AS day
          FROM leaderboard_record_unpartitioned WHERE expiry_time >= '1970-01-02 00:00:00+00') AS days;
INSERT INTO leaderboard_record SELECT leaderboard_id, owner_id, username, score, subscore, num_score, metadata,
       create_time, update_time, expiry_time, max_num_score FROM leaderboard_record_unpartitioned;
DROP TABLE leaderboard_record_unpartitioned;

-- +migrate Down
CREATE TABLE leaderboard_record_unpartitioned (
    leaderboard_id VARCHAR(128) NOT NULL,
    owner_id       UUID         NOT NULL,
    username       VARCHAR(128),
    -- Named as PostgreSQL named Nakama's (the old table still holds those names while this one is made).
    score          BIGINT       NOT NULL DEFAULT 0 CONSTRAINT leaderboard_record_score_check CHECK (score >= 0),
    subscore       BIGINT       NOT NULL DEFAULT 0 CONSTRAINT leaderboard_record_subscore_check CHECK (subscore >= 0),
    num_score      INT          NOT NULL DEFAULT 1 CONSTRAINT leaderboard_record_num_score_check CHECK (num_score >= 0),
    metadata       JSONB        NOT NULL DEFAULT '{}',
    create_time    TIMESTAMPTZ  NOT NULL DEFAULT now(),
    update_time    TIMESTAMPTZ  NOT NULL DEFAULT now(),
    expiry_time    TIMESTAMPTZ  NOT NULL DEFAULT '1970-01-01 00:00:00 UTC', -- epoch: never expires
    max_num_score  INT          NOT NULL DEFAULT 1000000,
    CONSTRAINT leaderboard_record_unpartitioned_pkey PRIMARY KEY (leaderboard_id, expiry_time, score, subscore, owner_id),
    CONSTRAINT leaderboard_record_unpartitioned_leaderboard_id_fkey FOREIGN KEY (leaderboard_id)
        REFERENCES leaderboard (id) ON DELETE CASCADE,
    CONSTRAINT leaderboard_record_unpartitioned_owner_key UNIQUE (owner_id, leaderboard_id, expiry_time),
    CONSTRAINT check_max_num_score CHECK (max_num_score > 0)
);
INSERT INTO leaderboard_record_unpartitioned SELECT leaderboard_id, owner_id, username, score, subscore, num_score,
       metadata, create_time, update_time, expiry_time, max_num_score FROM leaderboard_record;
DROP TABLE leaderboard_record; -- and every partition
ALTER TABLE leaderboard_record_unpartitioned RENAME TO leaderboard_record;
ALTER TABLE leaderboard_record RENAME CONSTRAINT leaderboard_record_unpartitioned_pkey TO leaderboard_record_pkey;
ALTER TABLE leaderboard_record RENAME CONSTRAINT leaderboard_record_unpartitioned_owner_key
    TO leaderboard_record_owner_id_leaderboard_id_expiry_time_key;
ALTER TABLE leaderboard_record RENAME CONSTRAINT leaderboard_record_unpartitioned_leaderboard_id_fkey
    TO leaderboard_record_leaderboard_id_fkey;
CREATE INDEX owner_id_expiry_time_leaderboard_id_idx ON leaderboard_record (owner_id, expiry_time, leaderboard_id);
DROP FUNCTION IF EXISTS nakama_py_record_partition(DATE);
