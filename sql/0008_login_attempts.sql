-- nakama-py: failed sign-ins per account and per client address (Nakama keeps them in one
-- process's memory), so that every worker process and node sees the same lockouts.

-- +migrate Up
CREATE TABLE IF NOT EXISTS nakama_py_login_attempt (
    -- scope: 'account' (key: the user ID), 'console' (key: a console user name) or 'ip' (the client address)
    scope        TEXT          NOT NULL CHECK (scope IN ('account', 'console', 'ip')),
    key          TEXT          NOT NULL,
    -- the failures inside the window (at most the threshold's worth), database clock
    attempts     TIMESTAMPTZ[] NOT NULL,
    locked_until TIMESTAMPTZ,
    update_time  TIMESTAMPTZ   NOT NULL DEFAULT now(),
    CONSTRAINT nakama_py_login_attempt_pkey PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS nakama_py_login_attempt_update_time_idx ON nakama_py_login_attempt (update_time);

-- +migrate Down
DROP TABLE IF EXISTS nakama_py_login_attempt;
