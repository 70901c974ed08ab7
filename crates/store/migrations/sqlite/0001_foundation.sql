-- Tenancy, currencies, plans, API keys and idempotency records.

CREATE TABLE merchants (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    status_before_freeze TEXT,
    rejection_reason TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE members (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    id TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT,
    role TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id)
);
CREATE UNIQUE INDEX members_email ON members (email);
CREATE INDEX members_id ON members (id);

CREATE TABLE currencies (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    id TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    coins_per_unit TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id)
);
CREATE UNIQUE INDEX currencies_code ON currencies (merchant_id, code);

CREATE TABLE plans (
    merchant_id TEXT PRIMARY KEY NOT NULL REFERENCES merchants(id),
    leads BIGINT NOT NULL,
    rewards BIGINT NOT NULL,
    redeems BIGINT NOT NULL,
    swaps BIGINT NOT NULL,
    rate_limit_per_minute BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE quota_counters (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    quota TEXT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, quota)
);

CREATE TABLE api_keys (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    id TEXT NOT NULL,
    env TEXT NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    signing_secret TEXT NOT NULL,
    callback_url TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX api_keys_id ON api_keys (id);

CREATE TABLE idempotency_keys (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status_code BIGINT,
    response_body TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, env, idem_key)
);
