-- The keys that sign the tokens QR codes carry (a lead's ID, a coupon, a displayed code): the
-- newest signs, every key not retired verifies, so a rotation leaves a day for the codes
-- already shown. Server-wide, not a tenant's: a token names its merchant and env itself.
CREATE TABLE signing_keys (
    id TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    -- From this moment the key verifies nothing; NULL while it is in use.
    retires_at TIMESTAMPTZ,
    PRIMARY KEY (id)
);

-- A lead's member page is reached by a long random token; only its hash is kept. The page
-- finds the lead by it alone (as an API key is found by its id), so the index leads with it.
ALTER TABLE leads ADD COLUMN member_token_hash TEXT;
CREATE UNIQUE INDEX leads_member_token ON leads (member_token_hash);
