-- The creation days of the orders that changed on some event days (the partitions of the
-- creation-day tables a refresh rewrites) and how many changes each got.
SELECT created_dt, count(*) AS changes
FROM ${database}.order_events
WHERE dt IN (${event_days})
GROUP BY created_dt
