-- Raw change records priced below zero.
SELECT COUNT(*) AS failing_rows, MIN(event_id) AS example
FROM ${database}.${raw_table}
WHERE price IS NULL OR CAST(price AS DECIMAL(18, 2)) < 0
