-- Quota counters spread over 16 shards per merchant and quota: a burn locks one shard, so
-- concurrent rewards of one merchant do not queue on a single row. Each shard may burn up to
-- its `allotted` units; the allotments of a quota always add up to the plan's total.
CREATE TABLE quota_shards (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    quota TEXT NOT NULL,
    shard BIGINT NOT NULL,
    allotted BIGINT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, quota, shard)
);

-- Existing merchants: the used count moves to shard 0, the rest of the plan is spread evenly.
INSERT INTO quota_shards (merchant_id, quota, shard, allotted, used)
SELECT p.merchant_id, q.column1, s.column1,
       (CASE WHEN s.column1 = 0 THEN COALESCE(c.used, 0) ELSE 0 END)
       + (CASE q.column1 WHEN 'leads' THEN p.leads WHEN 'rewards' THEN p.rewards
                          WHEN 'redeems' THEN p.redeems ELSE p.swaps END
          - COALESCE(c.used, 0)) / 16
       + (CASE WHEN s.column1 < (CASE q.column1 WHEN 'leads' THEN p.leads WHEN 'rewards' THEN p.rewards
                                  WHEN 'redeems' THEN p.redeems ELSE p.swaps END
                                 - COALESCE(c.used, 0)) % 16 THEN 1 ELSE 0 END),
       CASE WHEN s.column1 = 0 THEN COALESCE(c.used, 0) ELSE 0 END
FROM plans p
CROSS JOIN (VALUES ('leads'), ('rewards'), ('redeems'), ('swaps')) AS q
CROSS JOIN (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15)) AS s
LEFT JOIN quota_counters c ON c.merchant_id = p.merchant_id AND c.quota = q.column1;

DROP TABLE quota_counters;
