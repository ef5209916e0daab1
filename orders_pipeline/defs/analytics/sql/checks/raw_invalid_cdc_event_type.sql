-- Raw change records whose cdc_event_type is not one DynamoDB Streams emits.
SELECT COUNT(*) AS failing_rows, MIN(event_id) AS example
FROM ${database}.${raw_table}
WHERE cdc_event_type IS NULL OR cdc_event_type NOT IN ('INSERT', 'MODIFY', 'REMOVE')
