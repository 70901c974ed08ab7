-- Password resets: an emailed link whose token is kept only as a hash, good once and briefly.

CREATE TABLE password_resets (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at TIMESTAMPTZ,
    PRIMARY KEY (merchant_id, id)
);
CREATE UNIQUE INDEX password_resets_token_hash ON password_resets (token_hash);
CREATE INDEX password_resets_member ON password_resets (merchant_id, member_id);
