-- The partner app at the counter: staff tied to stores, the point grants staff may give, the
-- codes staff display for a lead to claim, and what happened at the counter (for analytics and
-- for "a store's leads").

-- Stores a staff member works at; none means any.
CREATE TABLE member_stores (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    member_id TEXT NOT NULL,
    store_id TEXT NOT NULL,
    PRIMARY KEY (merchant_id, member_id, store_id)
);

-- Fixed point grants the merchant configures for staff to give.
CREATE TABLE point_grants (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    currency_id TEXT NOT NULL,
    points BIGINT NOT NULL CHECK (points > 0),
    created_at TEXT NOT NULL,
    archived_at TEXT,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, currency_id) REFERENCES currencies(merchant_id, id)
);
CREATE INDEX point_grants_env ON point_grants (merchant_id, env, id);

-- A code displayed at the counter: a grant or a deal, claimed once by one lead before it expires.
CREATE TABLE counter_claims (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    store_id TEXT,
    member_id TEXT NOT NULL,
    grant_id TEXT,
    deal_id TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    claimed_at TEXT,
    lead_id TEXT,
    wallet_transaction_id TEXT,
    coupon_id TEXT,
    PRIMARY KEY (merchant_id, id),
    CHECK ((grant_id IS NULL) <> (deal_id IS NULL))
);

-- One line per thing done at the counter: `coupon_used`, `points_given`, `deal_given`,
-- `claimed` (a displayed code) or `joined` (a new lead from a store's join code).
CREATE TABLE counter_actions (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    store_id TEXT,
    member_id TEXT,
    lead_id TEXT,
    points BIGINT NOT NULL DEFAULT 0,
    reference TEXT,
    -- The retry key of a give: a second submission of the same form gives nothing more.
    hash TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX counter_actions_time ON counter_actions (merchant_id, env, created_at);
CREATE UNIQUE INDEX counter_actions_hash ON counter_actions (merchant_id, env, hash);
CREATE INDEX counter_actions_store ON counter_actions (merchant_id, env, store_id, kind, lead_id);
