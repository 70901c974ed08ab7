-- The background job queue shared by every server, and webhooks: the endpoints merchants
-- register and the deliveries of each event to each endpoint (written with the change the
-- event reports, then driven by a job).

CREATE TABLE jobs (
    id TEXT NOT NULL PRIMARY KEY,
    -- What runs it: `webhook_delivery`, …
    kind TEXT NOT NULL,
    -- The kind's own JSON.
    payload TEXT NOT NULL,
    -- The tenant the job works for, where it has one.
    merchant_id TEXT,
    env TEXT,
    -- `queued`, `running` (leased until `locked_until`) or `failed`; done jobs are deleted.
    status TEXT NOT NULL,
    run_at TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    locked_by TEXT,
    locked_until TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (status IN ('queued', 'running', 'failed'))
);
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_leased ON jobs (status, locked_until);

CREATE TABLE webhook_endpoints (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    url TEXT NOT NULL,
    -- The event types wanted, separated by spaces.
    events TEXT NOT NULL,
    -- The signing key, base64 (the secret shown once is `whsec_` + this).
    signing_key TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX webhook_endpoints_env ON webhook_endpoints (merchant_id, env, id);

CREATE TABLE webhook_deliveries (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    -- Also the `webhook-id` the receiver sees, the same on every attempt.
    id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- The body sent, as written with the change.
    payload TEXT NOT NULL,
    -- `pending`, `delivered` or `failed`.
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_status BIGINT,
    -- The start of the last answer, or why there was none.
    last_response TEXT,
    last_attempt_at TEXT,
    next_attempt_at TEXT,
    delivered_at TEXT,
    -- Retries stop after this (24 hours after the event, or after a redelivery).
    retry_until TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    CHECK (status IN ('pending', 'delivered', 'failed'))
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (merchant_id, env, endpoint_id, id);
