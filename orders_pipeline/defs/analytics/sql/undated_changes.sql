-- The raw records of some event days that carry no creation time: when there are none (our own
-- items always carry one), the refresh need not look up when their orders were first seen.
SELECT count(*) AS changes
FROM ${database}.${raw_table}
WHERE dt IN (${event_days}) AND created_at IS NULL
