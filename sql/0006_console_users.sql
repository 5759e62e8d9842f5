-- nakama-py: people who sign in to the web console (console.port), besides console.username,
-- with Nakama's console roles. Passwords are bcrypt hashes.

-- +migrate Up
CREATE TABLE IF NOT EXISTS nakama_py_console_user (
    id           UUID         NOT NULL,
    username     VARCHAR(128) NOT NULL,
    email        VARCHAR(255),
    password     BYTEA        NOT NULL,
    -- role: 1 admin, 2 developer, 3 maintainer, 4 read-only (Nakama's numbering)
    role         SMALLINT     NOT NULL CHECK (role BETWEEN 1 AND 4),
    create_time  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    update_time  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT nakama_py_console_user_pkey PRIMARY KEY (id),
    CONSTRAINT nakama_py_console_user_username_key UNIQUE (username)
);

-- +migrate Down
DROP TABLE IF EXISTS nakama_py_console_user;
