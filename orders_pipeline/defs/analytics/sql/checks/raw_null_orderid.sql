-- Raw change records without the table key.
SELECT COUNT(*) AS failing_rows, MIN(event_id) AS example
FROM ${database}.${raw_table}
WHERE orderid IS NULL OR CAST(orderid AS VARCHAR) = ''
