-- Tasks and surprises, two more kinds of campaign: each kind's own columns on `campaigns`,
-- what a task activity or a surprise claim leaves on its interaction, each lead's progress on
-- a task per period window, and the merchant's time zone (which day it is for a surprise's
-- occasion and a task's period).

ALTER TABLE merchants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

-- Tasks: `points` or `deal`; surprises always give a deal.
ALTER TABLE campaigns ADD COLUMN reward TEXT;
-- Tasks: the activities that complete one; surprises: the claims per lead per occasion.
ALTER TABLE campaigns ADD COLUMN count BIGINT;
-- Tasks rewarding points: a random amount in [min_reward, max_reward].
ALTER TABLE campaigns ADD COLUMN min_reward BIGINT;
ALTER TABLE campaigns ADD COLUMN max_reward BIGINT;
ALTER TABLE campaigns ADD COLUMN deal_id TEXT;
-- Tasks: `none`, `day`, `week` or `month`.
ALTER TABLE campaigns ADD COLUMN period TEXT;
-- Surprises: `custom` (on occasion_date, YYYY-MM-DD) or `lead_birthday`.
ALTER TABLE campaigns ADD COLUMN occasion TEXT;
ALTER TABLE campaigns ADD COLUMN occasion_date TEXT;

-- A task activity's progress in its cycle and the count it completes at.
ALTER TABLE campaign_interactions ADD COLUMN progress BIGINT;
ALTER TABLE campaign_interactions ADD COLUMN goal BIGINT;
-- The coupon a deal reward issued.
ALTER TABLE campaign_interactions ADD COLUMN coupon_id TEXT;
-- The task's period window, or the surprise's occasion (the day it falls on).
ALTER TABLE campaign_interactions ADD COLUMN window_key TEXT;
CREATE INDEX campaign_interactions_window ON campaign_interactions (merchant_id, campaign_id, lead_id, window_key);
CREATE INDEX campaign_interactions_lead_time ON campaign_interactions (merchant_id, env, lead_id, id);

-- A lead's activities on a task in one period window: counted up by one guarded upsert per
-- activity, back to 0 when they complete the task.
CREATE TABLE task_progress (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    env TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    window_key TEXT NOT NULL,
    progress BIGINT NOT NULL,
    completions BIGINT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (merchant_id, campaign_id, lead_id, window_key),
    FOREIGN KEY (merchant_id, campaign_id) REFERENCES campaigns(merchant_id, id)
);
