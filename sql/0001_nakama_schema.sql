-- Nakama's own tables, with Nakama's column names, types, defaults, keys,
-- indexes and constraint names, so that tools and habits written for a Nakama
-- database keep working. Every statement is IF NOT EXISTS: pointed at a
-- database Nakama already created, this migration leaves it as it is.

-- +migrate Up
CREATE TABLE IF NOT EXISTS users (
    id                       UUID         NOT NULL,
    username                 VARCHAR(128) NOT NULL CONSTRAINT users_username_key UNIQUE,
    display_name             VARCHAR(255),
    avatar_url               VARCHAR(512),
    lang_tag                 VARCHAR(18)  NOT NULL DEFAULT 'en',
    location                 VARCHAR(255),
    timezone                 VARCHAR(255),
    metadata                 JSONB        NOT NULL DEFAULT '{}',
    wallet                   JSONB        NOT NULL DEFAULT '{}',
    email                    VARCHAR(255) CONSTRAINT users_email_key UNIQUE,
    password                 BYTEA        CHECK (length(password) < 32000),
    facebook_id              VARCHAR(128) CONSTRAINT users_facebook_id_key UNIQUE,
    google_id                VARCHAR(128) CONSTRAINT users_google_id_key UNIQUE,
    gamecenter_id            VARCHAR(128) CONSTRAINT users_gamecenter_id_key UNIQUE,
    steam_id                 VARCHAR(128) CONSTRAINT users_steam_id_key UNIQUE,
    custom_id                VARCHAR(128) CONSTRAINT users_custom_id_key UNIQUE,
    facebook_instant_game_id VARCHAR(128) CONSTRAINT users_facebook_instant_game_id_key UNIQUE,
    apple_id                 VARCHAR(128) CONSTRAINT users_apple_id_key UNIQUE,
    edge_count               INT          NOT NULL DEFAULT 0 CHECK (edge_count >= 0),
    create_time              TIMESTAMPTZ  NOT NULL DEFAULT now(),
    update_time              TIMESTAMPTZ  NOT NULL DEFAULT now(),
    verify_time              TIMESTAMPTZ  NOT NULL DEFAULT '1970-01-01 00:00:00 UTC',
    disable_time             TIMESTAMPTZ  NOT NULL DEFAULT '1970-01-01 00:00:00 UTC',
    CONSTRAINT users_pkey PRIMARY KEY (id)
);

-- The system user owns system storage objects; storage.user_id references users.
INSERT INTO users (id, username)
    VALUES ('00000000-0000-0000-0000-000000000000', '')
    ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS user_device (
    id      VARCHAR(128) NOT NULL,
    user_id UUID         NOT NULL,
    CONSTRAINT user_device_pkey PRIMARY KEY (id),
    CONSTRAINT user_device_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT user_device_user_id_id_key UNIQUE (user_id, id)
);

CREATE TABLE IF NOT EXISTS user_edge (
    source_id      UUID        NOT NULL CHECK (source_id <> '00000000-0000-0000-0000-000000000000'),
    position       BIGINT      NOT NULL,
    update_time    TIMESTAMPTZ NOT NULL DEFAULT now(),
    destination_id UUID        NOT NULL CHECK (destination_id <> '00000000-0000-0000-0000-000000000000'),
    state          SMALLINT    NOT NULL DEFAULT 0, -- friend(0), invite_sent(1), invite_received(2), blocked(3)
    metadata       JSONB       NOT NULL DEFAULT '{}',
    CONSTRAINT user_edge_pkey PRIMARY KEY (source_id, state, position),
    CONSTRAINT user_edge_source_id_fkey FOREIGN KEY (source_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT user_edge_destination_id_fkey FOREIGN KEY (destination_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT user_edge_source_id_destination_id_key UNIQUE (source_id, destination_id)
);
CREATE INDEX IF NOT EXISTS user_edge_auto_index_fk_destination_id_ref_users ON user_edge (destination_id);

CREATE TABLE IF NOT EXISTS user_tombstone (
    user_id     UUID        NOT NULL,
    create_time TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT user_tombstone_pkey PRIMARY KEY (create_time, user_id),
    CONSTRAINT user_tombstone_user_id_key UNIQUE (user_id)
);

CREATE TABLE IF NOT EXISTS notification (
    id          UUID         NOT NULL CONSTRAINT notification_id_key UNIQUE,
    user_id     UUID         NOT NULL,
    subject     VARCHAR(255) NOT NULL,
    content     JSONB        NOT NULL DEFAULT '{}',
    code        SMALLINT     NOT NULL, -- negative values are reserved by the system
    sender_id   UUID         NOT NULL,
    create_time TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT notification_pkey PRIMARY KEY (user_id, create_time, id),
    CONSTRAINT notification_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS storage (
    collection  VARCHAR(128) NOT NULL,
    key         VARCHAR(128) NOT NULL,
    user_id     UUID         NOT NULL,
    value       JSONB        NOT NULL DEFAULT '{}',
    version     VARCHAR(32)  NOT NULL, -- md5 of the value as submitted
    read        SMALLINT     NOT NULL DEFAULT 1 CHECK (read >= 0),
    write       SMALLINT     NOT NULL DEFAULT 1 CHECK (write >= 0),
    create_time TIMESTAMPTZ  NOT NULL DEFAULT now(),
    update_time TIMESTAMPTZ  NOT NULL DEFAULT now(),
    -- Nakama's 2023 migration promoted this unique index to the primary key, keeping its name.
    CONSTRAINT storage_collection_key_user_id_key PRIMARY KEY (collection, key, user_id),
    CONSTRAINT storage_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS collection_read_user_id_key_idx ON storage (collection, read, user_id, key);
CREATE INDEX IF NOT EXISTS collection_read_key_user_id_idx ON storage (collection, read, key, user_id);
CREATE INDEX IF NOT EXISTS collection_user_id_read_key_idx ON storage (collection, user_id, read, key);
CREATE INDEX IF NOT EXISTS storage_auto_index_fk_user_id_ref_users ON storage (user_id);

CREATE TABLE IF NOT EXISTS leaderboard (
    id             VARCHAR(128) NOT NULL,
    authoritative  BOOLEAN      NOT NULL DEFAULT FALSE,
    sort_order     SMALLINT     NOT NULL DEFAULT 1, -- asc(0), desc(1)
    operator       SMALLINT     NOT NULL DEFAULT 0, -- best(0), set(1), increment(2), decrement(3)
    reset_schedule VARCHAR(64),                     -- cron expression; NULL never resets
    metadata       JSONB        NOT NULL DEFAULT '{}',
    create_time    TIMESTAMPTZ  NOT NULL DEFAULT now(),
    category       SMALLINT     NOT NULL DEFAULT 0,
    description    VARCHAR(255) NOT NULL DEFAULT '',
    duration       INT          NOT NULL DEFAULT 0, -- seconds; non-zero marks a tournament
    end_time       TIMESTAMPTZ  NOT NULL DEFAULT '1970-01-01 00:00:00 UTC',
    join_required  BOOLEAN      NOT NULL DEFAULT FALSE,
    max_size       INT          NOT NULL DEFAULT 100000000,
    max_num_score  INT          NOT NULL DEFAULT 1000000,
    title          VARCHAR(255) NOT NULL DEFAULT '',
    size           INT          NOT NULL DEFAULT 0,
    start_time     TIMESTAMPTZ  NOT NULL DEFAULT now(),
    enable_ranks   BOOLEAN      DEFAULT TRUE,
    CONSTRAINT leaderboard_pkey PRIMARY KEY (id),
    CONSTRAINT check_category CHECK (category >= 0),
    CONSTRAINT check_duration CHECK (duration >= 0),
    CONSTRAINT check_max_size CHECK (max_size > 0),
    CONSTRAINT check_max_num_score CHECK (max_num_score > 0)
);
CREATE INDEX IF NOT EXISTS duration_start_time_end_time_category_idx
    ON leaderboard (duration, start_time, end_time DESC, category);
CREATE INDEX IF NOT EXISTS leaderboard_create_time_id_idx ON leaderboard (create_time ASC, id ASC);

CREATE TABLE IF NOT EXISTS leaderboard_record (
    leaderboard_id VARCHAR(128) NOT NULL,
    owner_id       UUID         NOT NULL,
    username       VARCHAR(128),
    score          BIGINT       NOT NULL DEFAULT 0 CHECK (score >= 0),
    subscore       BIGINT       NOT NULL DEFAULT 0 CHECK (subscore >= 0),
    num_score      INT          NOT NULL DEFAULT 1 CHECK (num_score >= 0),
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
);
CREATE INDEX IF NOT EXISTS owner_id_expiry_time_leaderboard_id_idx
    ON leaderboard_record (owner_id, expiry_time, leaderboard_id);

CREATE TABLE IF NOT EXISTS wallet_ledger (
    id          UUID        NOT NULL CONSTRAINT wallet_ledger_id_key UNIQUE,
    user_id     UUID        NOT NULL,
    changeset   JSONB       NOT NULL,
    metadata    JSONB       NOT NULL,
    create_time TIMESTAMPTZ NOT NULL DEFAULT now(),
    update_time TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT wallet_ledger_pkey PRIMARY KEY (user_id, create_time, id),
    CONSTRAINT wallet_ledger_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

-- +migrate Down
DROP TABLE IF EXISTS wallet_ledger;
DROP TABLE IF EXISTS leaderboard_record;
DROP TABLE IF EXISTS leaderboard;
DROP TABLE IF EXISTS storage;
DROP TABLE IF EXISTS notification;
DROP TABLE IF EXISTS user_tombstone;
DROP TABLE IF EXISTS user_edge;
DROP TABLE IF EXISTS user_device;
DROP TABLE IF EXISTS users;
