-- Time of the newest change event, for the freshness check.
SELECT MAX(creation_datetime) AS newest_event_time
FROM ${database}.order_events
