-- Voucher campaigns: standalone vaults (a vendor's vouchers of one amount, test or live),
-- coupon codes that belong to a deal or to a vault (one mechanism for both), the vaults a
-- voucher campaign draws from, the integrations that call it, and what an award request
-- leaves on its interaction (the redeemer, the criteria, the voucher given).

CREATE TABLE vaults (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    vendor TEXT NOT NULL,
    -- In the smallest unit of money (cents).
    amount BIGINT NOT NULL,
    -- Test vouchers, awarded to test integrations only.
    test BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX vaults_env ON vaults (merchant_id, env, id);

-- A code belongs to exactly one of a deal or a vault. SQLite cannot relax a NOT NULL or add a
-- CHECK in place: the table is rebuilt with every row. Its only child, `coupons`, is set aside
-- (its rows kept in a plain copy) while the parent is replaced, since foreign keys stay on in a
-- migration's transaction, then rebuilt as it was.
CREATE TABLE coupons_aside AS SELECT * FROM coupons;
DROP TABLE coupons;
CREATE TABLE coupon_codes_next (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    deal_id TEXT,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    -- 1 once a unique code was handed out; generic codes stay 0 and are handed out again.
    issued BIGINT NOT NULL,
    issued_at TEXT,
    created_at TEXT NOT NULL,
    vault_id TEXT,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, deal_id) REFERENCES deals(merchant_id, id),
    FOREIGN KEY (merchant_id, vault_id) REFERENCES vaults(merchant_id, id),
    CONSTRAINT coupon_codes_one_owner CHECK ((deal_id IS NULL) <> (vault_id IS NULL))
);
INSERT INTO coupon_codes_next (merchant_id, env, id, deal_id, kind, value, issued, issued_at, created_at, vault_id)
    SELECT merchant_id, env, id, deal_id, kind, value, issued, issued_at, created_at, NULL FROM coupon_codes;
DROP TABLE coupon_codes;
ALTER TABLE coupon_codes_next RENAME TO coupon_codes;
CREATE UNIQUE INDEX coupon_codes_value ON coupon_codes (merchant_id, env, value);
CREATE INDEX coupon_codes_stock ON coupon_codes (merchant_id, deal_id, issued, id);
CREATE INDEX coupon_codes_vault_stock ON coupon_codes (merchant_id, vault_id, issued, id);
CREATE TABLE coupons (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    deal_id TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    code_id TEXT NOT NULL,
    code_kind TEXT NOT NULL,
    code TEXT NOT NULL,
    mode TEXT NOT NULL,
    currency_id TEXT,
    wallet_id TEXT,
    -- Points debited for a redeem (refunded on cancel); 0 for a reward.
    points BIGINT NOT NULL,
    status TEXT NOT NULL,
    hash TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    api_key_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    used_at TEXT,
    cancelled_at TEXT,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, deal_id) REFERENCES deals(merchant_id, id),
    FOREIGN KEY (merchant_id, lead_id) REFERENCES leads(merchant_id, id),
    FOREIGN KEY (merchant_id, code_id) REFERENCES coupon_codes(merchant_id, id)
);
INSERT INTO coupons (merchant_id, env, id, deal_id, lead_id, code_id, code_kind, code, mode, currency_id,
    wallet_id, points, status, hash, fingerprint, api_key_id, created_at, updated_at, used_at, cancelled_at)
    SELECT merchant_id, env, id, deal_id, lead_id, code_id, code_kind, code, mode, currency_id,
    wallet_id, points, status, hash, fingerprint, api_key_id, created_at, updated_at, used_at, cancelled_at
    FROM coupons_aside;
DROP TABLE coupons_aside;
CREATE UNIQUE INDEX coupons_hash ON coupons (merchant_id, env, hash);
CREATE INDEX coupons_lead ON coupons (merchant_id, lead_id, id);
CREATE INDEX coupons_deal ON coupons (merchant_id, deal_id, id);

CREATE TABLE campaign_vaults (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    vault_id TEXT NOT NULL,
    PRIMARY KEY (merchant_id, campaign_id, vault_id),
    FOREIGN KEY (merchant_id, campaign_id) REFERENCES campaigns(merchant_id, id),
    FOREIGN KEY (merchant_id, vault_id) REFERENCES vaults(merchant_id, id)
);

CREATE TABLE campaign_integrations (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    name TEXT NOT NULL,
    -- `test`, `live` or `revoked`.
    status TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, campaign_id) REFERENCES campaigns(merchant_id, id)
);
CREATE INDEX campaign_integrations_campaign ON campaign_integrations (merchant_id, campaign_id, id);
-- Authentication finds an integration by its id alone, as it finds an API key.
CREATE INDEX campaign_integrations_id ON campaign_integrations (id);

-- The redeemer an award request named, its criteria (`vendor`; `amount` is the existing
-- column), and the voucher it got: the code and the vault it came from.
ALTER TABLE campaign_interactions ADD COLUMN redeemer_email TEXT;
ALTER TABLE campaign_interactions ADD COLUMN redeemer_mobile TEXT;
ALTER TABLE campaign_interactions ADD COLUMN redeemer_customer_id TEXT;
ALTER TABLE campaign_interactions ADD COLUMN redeemer_name TEXT;
ALTER TABLE campaign_interactions ADD COLUMN vendor TEXT;
ALTER TABLE campaign_interactions ADD COLUMN code_id TEXT;
ALTER TABLE campaign_interactions ADD COLUMN vault_id TEXT;
-- Awards per vault over time (the report's available vouchers), and a redeemer's awards.
CREATE INDEX campaign_interactions_vault ON campaign_interactions (merchant_id, campaign_id, vault_id, created_at);
CREATE INDEX campaign_interactions_email ON campaign_interactions (merchant_id, campaign_id, redeemer_email);
CREATE INDEX campaign_interactions_mobile ON campaign_interactions (merchant_id, campaign_id, redeemer_mobile);
CREATE INDEX campaign_interactions_customer ON campaign_interactions (merchant_id, campaign_id, redeemer_customer_id);
