-- Dashboard accounts: sessions, one-time-password challenges, login activities, notifications
-- and the instance secrets that sign dashboard cookies.

CREATE TABLE sessions (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    env TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    PRIMARY KEY (merchant_id, id)
);
CREATE UNIQUE INDEX sessions_token_hash ON sessions (token_hash);

-- A challenge exists before any account does (sign-up), so it is keyed by its own id.
CREATE TABLE otp_challenges (
    id TEXT PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL,
    email TEXT NOT NULL,
    merchant_id TEXT,
    member_id TEXT,
    business_name TEXT,
    password_hash TEXT,
    code_hash TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    sends BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    consumed_at TEXT
);
CREATE INDEX otp_challenges_email ON otp_challenges (email, created_at);

CREATE TABLE login_activities (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at TEXT NOT NULL,
    reported_at TEXT,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX login_activities_recent ON login_activities (merchant_id, created_at);

CREATE TABLE notifications (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at TEXT,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX notifications_recent ON notifications (merchant_id, created_at);

CREATE TABLE instance_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at TEXT NOT NULL
);
