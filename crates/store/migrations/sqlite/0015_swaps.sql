-- Swaps: contracts that join two merchants' currencies, the swaps made (a lead's points to
-- another lead of the same merchant, or to a partner's lead under an active contract), and
-- the points each sending lead swapped per contract and UTC day, guarded against the daily
-- maximum by the database.

-- Lead-to-lead swaps within the merchant, switched on by the merchant or the operator.
ALTER TABLE merchants ADD COLUMN lead_swaps BIGINT NOT NULL DEFAULT 0;

CREATE TABLE swap_contracts (
    -- The proposer.
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    partner_merchant_id TEXT NOT NULL REFERENCES merchants(id),
    -- The proposer's currency and the partner's.
    currency_id TEXT NOT NULL,
    partner_currency_id TEXT NOT NULL,
    -- Partner points one proposer point buys.
    rate TEXT NOT NULL,
    per_swap_max BIGINT NOT NULL,
    daily_max BIGINT NOT NULL,
    -- `proposed`, `accepted`, `active` or `suspended`.
    status TEXT NOT NULL,
    -- Who suspended it: `proposer`, `partner` or `operator`.
    suspended_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, currency_id) REFERENCES currencies(merchant_id, id),
    FOREIGN KEY (partner_merchant_id, partner_currency_id) REFERENCES currencies(merchant_id, id),
    CHECK (per_swap_max > 0 AND daily_max > 0)
);
CREATE INDEX swap_contracts_env ON swap_contracts (merchant_id, env, id);
-- The partner lists the contracts proposed to it; the operator finds one by its id.
CREATE INDEX swap_contracts_partner ON swap_contracts (partner_merchant_id, env, id);
CREATE INDEX swap_contracts_id ON swap_contracts (id);

CREATE TABLE swaps (
    -- The sender's merchant: its key asked, its swap quota was burned.
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    -- The sender's retry key (also the hash of its `swap_out` transaction).
    hash TEXT NOT NULL,
    -- NULL for a swap between two leads of one merchant.
    contract_id TEXT,
    from_wallet_id TEXT NOT NULL,
    from_lead_id TEXT NOT NULL,
    to_merchant_id TEXT NOT NULL REFERENCES merchants(id),
    to_wallet_id TEXT NOT NULL,
    to_lead_id TEXT NOT NULL,
    amount_out BIGINT NOT NULL,
    amount_in BIGINT NOT NULL,
    out_transaction_id TEXT NOT NULL,
    in_transaction_id TEXT NOT NULL,
    api_key_id TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    CHECK (amount_out > 0 AND amount_in >= 0)
);
CREATE INDEX swaps_env ON swaps (merchant_id, env, id);
-- The receiving merchant sees the swaps made to its leads.
CREATE INDEX swaps_to ON swaps (to_merchant_id, env, id);

-- Points each sending lead swapped under a contract on a UTC day (`YYYY-MM-DD`).
CREATE TABLE swap_usage (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    contract_id TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    day TEXT NOT NULL,
    points BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, contract_id, lead_id, day),
    CHECK (points >= 0)
);
