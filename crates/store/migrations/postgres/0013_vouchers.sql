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
    test BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX vaults_env ON vaults (merchant_id, env, id);

-- A code belongs to exactly one of a deal or a vault.
ALTER TABLE coupon_codes ALTER COLUMN deal_id DROP NOT NULL;
ALTER TABLE coupon_codes ADD COLUMN vault_id TEXT;
ALTER TABLE coupon_codes ADD CONSTRAINT coupon_codes_one_owner
    CHECK ((deal_id IS NULL) <> (vault_id IS NULL));
ALTER TABLE coupon_codes ADD CONSTRAINT coupon_codes_vault
    FOREIGN KEY (merchant_id, vault_id) REFERENCES vaults(merchant_id, id);
CREATE INDEX coupon_codes_vault_stock ON coupon_codes (merchant_id, vault_id, issued, id);

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
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
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
