-- KYC profiles, uploaded files and allowed IP addresses.

CREATE TABLE kyc_profiles (
    merchant_id TEXT PRIMARY KEY NOT NULL REFERENCES merchants(id),
    legal_name TEXT NOT NULL,
    business_type TEXT NOT NULL,
    registration_number TEXT,
    tax_id TEXT,
    website TEXT,
    phone TEXT NOT NULL,
    address_line TEXT NOT NULL,
    city TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    country TEXT NOT NULL,
    contact_person TEXT NOT NULL,
    submitted_at TEXT,
    updated_at TEXT NOT NULL
);

-- Files attached to a parent record (`kyc` now; deals, offers, stores and others later).
CREATE TABLE uploads (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    id TEXT NOT NULL,
    parent_type TEXT NOT NULL,
    parent_id TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    storage_key TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id)
);
CREATE INDEX uploads_parent ON uploads (merchant_id, parent_type, parent_id);

CREATE TABLE allowed_ips (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    id TEXT NOT NULL,
    source TEXT NOT NULL,
    cidr TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, id)
);
CREATE UNIQUE INDEX allowed_ips_unique_cidr ON allowed_ips (merchant_id, source, cidr);
