-- Messages and promos a merchant sends to its leads (all of them or a segment), fanned out in
-- the background: one delivery row per lead reached, written in batches after a cursor, so a
-- send interrupted by a restart picks up where it stopped and reaches every lead once.

CREATE TABLE messages (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    -- `message` or `promo`.
    kind TEXT NOT NULL,
    text TEXT,
    title TEXT,
    body TEXT,
    url TEXT,
    image_url TEXT,
    video_url TEXT,
    -- The segment as the API takes it (JSON).
    segment TEXT NOT NULL,
    -- `queued`, `sending` or `sent`.
    status TEXT NOT NULL,
    -- Leads in the segment when sending started, and leads reached so far.
    recipients BIGINT NOT NULL DEFAULT 0,
    delivered BIGINT NOT NULL DEFAULT 0,
    -- The last lead reached (leads are reached in id order).
    cursor TEXT,
    -- Who sent it: a member (dashboard or partner app, with the store they were at) or a key.
    member_id TEXT,
    store_id TEXT,
    api_key_id TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX messages_env ON messages (merchant_id, env, id);

CREATE TABLE message_deliveries (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    message_id TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, message_id, lead_id)
);
CREATE INDEX message_deliveries_lead ON message_deliveries (merchant_id, env, lead_id, message_id);
CREATE INDEX message_deliveries_time ON message_deliveries (merchant_id, env, created_at);
