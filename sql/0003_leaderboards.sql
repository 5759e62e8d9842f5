-- nakama-py: what leaderboards need beyond Nakama's own tables.
--
-- nakama_py_leaderboard_receipt: the idempotency receipts of write_record_once. One row
-- per accepted write; a later call with the same (leaderboard, owner, key) returns the
-- stored receipt instead of writing again. The rows also count accepted writes for the
-- per-owner rolling rate limit, and are purged in batches once expire_time has passed.
--
-- nakama_py_leaderboard_reset: one row per (leaderboard, reset) that the reset scheduler
-- has claimed. A process claims a reset by inserting its row with a lease; the row is
-- marked done when the on_reset handler returns. A claim whose lease ran out without
-- being done (its process died mid-handler) may be claimed again by any process.

-- +migrate Up
CREATE TABLE IF NOT EXISTS nakama_py_leaderboard_receipt (
    leaderboard_id     VARCHAR(128) NOT NULL,
    owner_id           UUID         NOT NULL,
    idempotency_key    VARCHAR(128) NOT NULL,
    create_time        TIMESTAMPTZ  NOT NULL DEFAULT now(),
    -- after this moment the key is forgotten and the row may be purged
    expire_time        TIMESTAMPTZ  NOT NULL,
    -- the bucket written to (the record's expiry_time)
    expiry_time        TIMESTAMPTZ  NOT NULL,
    submitted_score    BIGINT       NOT NULL,
    submitted_subscore BIGINT       NOT NULL,
    updated            BOOLEAN      NOT NULL,
    rank               BIGINT       NOT NULL,
    -- the record as the first caller got it
    username           VARCHAR(128),
    score              BIGINT       NOT NULL,
    subscore           BIGINT       NOT NULL,
    num_score          INT          NOT NULL,
    max_num_score      INT          NOT NULL,
    metadata           JSONB        NOT NULL DEFAULT '{}',
    record_create_time TIMESTAMPTZ  NOT NULL,
    record_update_time TIMESTAMPTZ  NOT NULL,
    CONSTRAINT nakama_py_leaderboard_receipt_pkey PRIMARY KEY (leaderboard_id, owner_id, idempotency_key),
    CONSTRAINT nakama_py_leaderboard_receipt_leaderboard_id_fkey FOREIGN KEY (leaderboard_id)
        REFERENCES leaderboard (id) ON DELETE CASCADE
);
-- the rolling rate-limit window: accepted writes of one owner on one board, newest first
CREATE INDEX IF NOT EXISTS nakama_py_leaderboard_receipt_window_idx
    ON nakama_py_leaderboard_receipt (leaderboard_id, owner_id, create_time);
CREATE INDEX IF NOT EXISTS nakama_py_leaderboard_receipt_expire_time_idx
    ON nakama_py_leaderboard_receipt (expire_time);

CREATE TABLE IF NOT EXISTS nakama_py_leaderboard_reset (
    leaderboard_id VARCHAR(128) NOT NULL,
    reset_time     TIMESTAMPTZ  NOT NULL,
    claimed_by     TEXT         NOT NULL,
    lease_until    TIMESTAMPTZ  NOT NULL,
    attempts       INT          NOT NULL DEFAULT 1,
    create_time    TIMESTAMPTZ  NOT NULL DEFAULT now(),
    done_time      TIMESTAMPTZ,
    last_error     TEXT,
    CONSTRAINT nakama_py_leaderboard_reset_pkey PRIMARY KEY (leaderboard_id, reset_time),
    CONSTRAINT nakama_py_leaderboard_reset_leaderboard_id_fkey FOREIGN KEY (leaderboard_id)
        REFERENCES leaderboard (id) ON DELETE CASCADE
);
-- claims to retry: not done, lease over
CREATE INDEX IF NOT EXISTS nakama_py_leaderboard_reset_pending_idx
    ON nakama_py_leaderboard_reset (lease_until) WHERE done_time IS NULL;

-- +migrate Down
DROP TABLE IF EXISTS nakama_py_leaderboard_reset;
DROP TABLE IF EXISTS nakama_py_leaderboard_receipt;
