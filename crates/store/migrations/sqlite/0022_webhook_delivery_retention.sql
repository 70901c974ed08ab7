-- Housekeeping deletes deliveries that ended (delivered, or given up) past the retention
-- period, oldest first, in batches: this finds them without reading the whole log.
CREATE INDEX webhook_deliveries_ended ON webhook_deliveries (status, last_attempt_at);
