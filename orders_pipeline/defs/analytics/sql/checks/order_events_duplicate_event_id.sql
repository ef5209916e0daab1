-- event_ids present more than once after deduplication.
SELECT COUNT(*) AS failing_rows, MIN(event_id) AS example
FROM (
    SELECT event_id FROM ${database}.order_events GROUP BY event_id HAVING COUNT(*) > 1
) AS duplicated
