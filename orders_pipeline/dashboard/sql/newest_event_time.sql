-- Freshness: when the newest change captured by the pipeline happened.
SELECT max(creation_datetime) AS newest_event_time
FROM ${database}.order_events
