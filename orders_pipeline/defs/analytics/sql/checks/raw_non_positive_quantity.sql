-- Raw change records with no positive quantity.
SELECT COUNT(*) AS failing_rows, MIN(event_id) AS example
FROM ${database}.${raw_table}
WHERE quantity IS NULL OR CAST(quantity AS BIGINT) <= 0
