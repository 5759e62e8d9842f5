-- nakama-py: the PostgreSQL cluster bus (nakama_py/cluster/pg_bus.py).
-- Which server processes are alive (each heartbeats its row), and bus messages too large
-- for a NOTIFY payload (the notification carries the row's id; rows are pruned after a bound).

-- +migrate Up
CREATE TABLE IF NOT EXISTS nakama_py_cluster_node (
    process     TEXT        NOT NULL,
    node        TEXT        NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    last_seen   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT nakama_py_cluster_node_pkey PRIMARY KEY (process)
);

CREATE TABLE IF NOT EXISTS nakama_py_cluster_message (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY,
    topic       TEXT        NOT NULL,
    payload     BYTEA       NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT nakama_py_cluster_message_pkey PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS nakama_py_cluster_message_created_at_idx
    ON nakama_py_cluster_message (created_at);

-- +migrate Down
DROP TABLE IF EXISTS nakama_py_cluster_message;
DROP TABLE IF EXISTS nakama_py_cluster_node;
