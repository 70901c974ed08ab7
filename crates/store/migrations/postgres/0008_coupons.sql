-- Every deal's vault of coupon codes, and the coupons issued from it.

CREATE TABLE coupon_codes (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    deal_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    -- 1 once a unique code was handed out; generic codes stay 0 and are handed out again.
    issued BIGINT NOT NULL,
    issued_at TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id),
    FOREIGN KEY (merchant_id, deal_id) REFERENCES deals(merchant_id, id)
);
CREATE UNIQUE INDEX coupon_codes_value ON coupon_codes (merchant_id, env, value);
CREATE INDEX coupon_codes_stock ON coupon_codes (merchant_id, deal_id, issued, id);

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
CREATE UNIQUE INDEX coupons_hash ON coupons (merchant_id, env, hash);
CREATE INDEX coupons_lead ON coupons (merchant_id, lead_id, id);
CREATE INDEX coupons_deal ON coupons (merchant_id, deal_id, id);
