-- The raw files order_events already holds the events of, on some event days.
SELECT DISTINCT source_file
FROM ${database}.order_events
WHERE dt IN (${event_days})
