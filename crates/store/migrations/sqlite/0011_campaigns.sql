-- The campaign engine: one table of campaigns of every kind (task, surprise, rule, voucher)
-- with the fields they share and each kind's own, one table of interactions (every trigger,
-- whatever its outcome), and the API keys allowed to trigger a rule.

CREATE TABLE campaigns (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    -- `task`, `surprise`, `rule` or `voucher`.
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    starts_at TEXT,
    ends_at TEXT,
    -- Switched on by the merchant (a rule is activated; any kind can be paused).
    active BIGINT NOT NULL,
    max_per_lead BIGINT,
    -- In points for a points reward; NULL is no budget.
    budget BIGINT,
    budget_used BIGINT NOT NULL,
    -- Rules: `earn` or `redeem`, the currency, and fixed points or a rate per unit of amount.
    direction TEXT,
    currency_id TEXT,
    points BIGINT,
    rate TEXT,
    cap_max BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX campaigns_kind ON campaigns (merchant_id, env, kind, id);

CREATE TABLE campaign_keys (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    api_key_id TEXT NOT NULL,
    PRIMARY KEY (merchant_id, campaign_id, api_key_id),
    FOREIGN KEY (merchant_id, campaign_id) REFERENCES campaigns(merchant_id, id),
    FOREIGN KEY (merchant_id, api_key_id) REFERENCES api_keys(merchant_id, id)
);

CREATE TABLE campaign_interactions (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    -- The API key (or integration) that triggered it.
    source_id TEXT,
    lead_id TEXT,
    -- The amount the trigger reported, if any.
    amount BIGINT,
    -- Signed points moved (negative for a redeem rule); 0 when nothing was awarded.
    points BIGINT NOT NULL,
    -- `awarded`, `error` or `exception`; `error_code` says why nothing was awarded.
    outcome TEXT NOT NULL,
    error_code TEXT,
    -- The retry key of an award; a refused trigger keeps none, so its retry is a new attempt.
    hash TEXT,
    fingerprint TEXT,
    wallet_transaction_id TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, campaign_id) REFERENCES campaigns(merchant_id, id)
);
-- A retried trigger (same hash) answers the first award.
CREATE UNIQUE INDEX campaign_interactions_hash ON campaign_interactions (merchant_id, env, campaign_id, hash);
CREATE INDEX campaign_interactions_lead ON campaign_interactions (merchant_id, campaign_id, lead_id, outcome);
CREATE INDEX campaign_interactions_time ON campaign_interactions (merchant_id, campaign_id, id);
