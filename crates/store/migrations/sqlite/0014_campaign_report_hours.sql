-- A campaign's interactions counted per UTC hour, outcome, refusal code and vault. The report
-- reads these counts for the hours that have closed and counts only the hours since from the
-- interactions themselves, so it reads a bounded number of rows however many a campaign has.

CREATE TABLE campaign_report_hours (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    -- The start of the hour.
    hour TEXT NOT NULL,
    outcome TEXT NOT NULL,
    -- The refusal's code, '' when none (a key column cannot be NULL).
    error_code TEXT NOT NULL,
    -- The vault a voucher came from, '' when none.
    vault_id TEXT NOT NULL,
    interactions BIGINT NOT NULL,
    -- Points moved by the awards, signed as in the ledger.
    points BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, campaign_id, hour, outcome, error_code, vault_id),
    FOREIGN KEY (merchant_id, campaign_id) REFERENCES campaigns(merchant_id, id)
);

-- How far each campaign's interactions are counted into `campaign_report_hours`: every
-- interaction created before `counted_until` (an hour's start) is, none after it.
CREATE TABLE campaign_report_marks (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    campaign_id TEXT NOT NULL,
    counted_until TEXT NOT NULL,
    PRIMARY KEY (merchant_id, campaign_id),
    FOREIGN KEY (merchant_id, campaign_id) REFERENCES campaigns(merchant_id, id)
);

-- The interactions of a campaign over a span of time: the hours not counted yet.
CREATE INDEX campaign_interactions_created ON campaign_interactions (merchant_id, campaign_id, created_at);
