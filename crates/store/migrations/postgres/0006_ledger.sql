-- Leads, wallets and the append-only wallet transactions.

CREATE TABLE leads (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    -- After a delete the personal fields are erased and customer_id becomes the lead's own id,
    -- so the merchant can reuse the customer id while the ledger keeps its rows.
    customer_id TEXT NOT NULL,
    name TEXT,
    email TEXT,
    mobile TEXT,
    country TEXT,
    dob TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    PRIMARY KEY (merchant_id, id)
);
CREATE UNIQUE INDEX leads_customer_id ON leads (merchant_id, env, customer_id);
CREATE INDEX leads_email ON leads (merchant_id, env, email);
CREATE INDEX leads_mobile ON leads (merchant_id, env, mobile);

CREATE TABLE wallets (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    currency_id TEXT NOT NULL,
    balance BIGINT NOT NULL CHECK (balance >= 0),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, lead_id) REFERENCES leads(merchant_id, id),
    FOREIGN KEY (merchant_id, currency_id) REFERENCES currencies(merchant_id, id)
);
CREATE UNIQUE INDEX wallets_lead_currency ON wallets (merchant_id, lead_id, currency_id);

CREATE TABLE wallet_transactions (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    wallet_id TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount BIGINT NOT NULL,
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    -- The client's retry key (or one the server makes, starting with '#'), unique per env.
    hash TEXT NOT NULL,
    -- What the request asked for, to tell a replay from a different request with the same hash.
    fingerprint TEXT NOT NULL,
    description TEXT,
    -- What caused it, e.g. the coupon of a redeem.
    reference TEXT,
    api_key_id TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, wallet_id) REFERENCES wallets(merchant_id, id)
);
CREATE UNIQUE INDEX wallet_transactions_hash ON wallet_transactions (merchant_id, env, hash);
CREATE INDEX wallet_transactions_wallet ON wallet_transactions (merchant_id, wallet_id, id);
CREATE INDEX wallet_transactions_lead ON wallet_transactions (merchant_id, lead_id, id);
