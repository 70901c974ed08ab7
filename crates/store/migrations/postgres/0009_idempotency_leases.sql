-- An idempotency claim is held under a lease that its server renews while the request runs.
-- A claim whose lease ran out (its server died) is taken over by the next retry; `applied_by`
-- names the attempt whose action committed, written in the action's own transaction.
ALTER TABLE idempotency_keys ADD COLUMN holder TEXT;
ALTER TABLE idempotency_keys ADD COLUMN lease_until TEXT;
ALTER TABLE idempotency_keys ADD COLUMN applied_by TEXT;
