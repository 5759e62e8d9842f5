-- nakama-py: logouts and other token revocations, kept so that they hold across
-- server processes and restarts (Nakama keeps them in memory only).

-- +migrate Up
CREATE TABLE IF NOT EXISTS nakama_py_session_revocation (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY,
    user_id     UUID        NOT NULL,
    -- kind: 0 every token issued to the user before revoked_at, 1 one session token, 2 one refresh token
    kind        SMALLINT    NOT NULL CHECK (kind IN (0, 1, 2)),
    token_id    UUID,
    revoked_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- after this moment the revoked tokens have expired anyway and the row can go
    expires_at  TIMESTAMPTZ NOT NULL,
    CONSTRAINT nakama_py_session_revocation_pkey PRIMARY KEY (id),
    CONSTRAINT nakama_py_session_revocation_token CHECK ((kind = 0) = (token_id IS NULL))
);
CREATE INDEX IF NOT EXISTS nakama_py_session_revocation_expires_at_idx
    ON nakama_py_session_revocation (expires_at);

-- +migrate Down
DROP TABLE IF EXISTS nakama_py_session_revocation;
