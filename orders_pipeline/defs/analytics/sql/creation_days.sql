-- The creation days of the orders that changed on some event days (the partitions of the
-- creation-day tables a refresh rewrites), how many changes each got, and how many of those
-- carry no creation time (the items of other code: their day is when the order was first seen).
-- With a file list, only the changes in those order_events files (what a refresh just added).
SELECT created_dt, count(*) AS changes,
    count_if(created_at IS NULL AND cdc_event_type <> 'REMOVE') AS undated,
    count_if(created_at IS NULL) AS without_creation_time
FROM ${database}.order_events
WHERE dt IN (${event_days})${file_filter}
GROUP BY created_dt
