-- The catalog: deals, offers and stores, per merchant and environment, and which stores carry
-- which deals and offers. Deleting one only marks it (`deleted_at`): coupons issued from a deal
-- keep pointing at it. Images are rows of `uploads` with parent type `deal`, `offer` or `store`.

CREATE TABLE deals (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    kind TEXT NOT NULL,
    sell_price BIGINT NOT NULL,
    available BIGINT NOT NULL,
    visibility TEXT NOT NULL,
    starts_at TEXT,
    ends_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX deals_env ON deals (merchant_id, env, id);

-- Offers carry a public promo code, unique per merchant and environment among live offers.
CREATE TABLE offers (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    sell_price BIGINT NOT NULL,
    available BIGINT NOT NULL,
    starts_at TEXT,
    ends_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX offers_env ON offers (merchant_id, env, id);
CREATE UNIQUE INDEX offers_live_code ON offers (merchant_id, env, code) WHERE deleted_at IS NULL;

-- Coordinates are integers in units of 10^-7 degree.
CREATE TABLE stores (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    mode TEXT NOT NULL,
    url TEXT,
    address_line TEXT,
    city TEXT,
    postal_code TEXT,
    country TEXT,
    latitude_e7 BIGINT,
    longitude_e7 BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX stores_env ON stores (merchant_id, env, id);

CREATE TABLE deal_stores (
    merchant_id TEXT NOT NULL,
    env TEXT NOT NULL,
    deal_id TEXT NOT NULL,
    store_id TEXT NOT NULL,
    PRIMARY KEY (merchant_id, deal_id, store_id),
    FOREIGN KEY (merchant_id, deal_id) REFERENCES deals (merchant_id, id),
    FOREIGN KEY (merchant_id, store_id) REFERENCES stores (merchant_id, id)
);
CREATE INDEX deal_stores_store ON deal_stores (merchant_id, store_id);

CREATE TABLE offer_stores (
    merchant_id TEXT NOT NULL,
    env TEXT NOT NULL,
    offer_id TEXT NOT NULL,
    store_id TEXT NOT NULL,
    PRIMARY KEY (merchant_id, offer_id, store_id),
    FOREIGN KEY (merchant_id, offer_id) REFERENCES offers (merchant_id, id),
    FOREIGN KEY (merchant_id, store_id) REFERENCES stores (merchant_id, id)
);
CREATE INDEX offer_stores_store ON offer_stores (merchant_id, store_id);
