-- How many changes of some new raw files carry no creation time (other code's items, a REMOVE
-- that holds only the key): only then does a refresh look up when their orders were first seen.
SELECT count_if(created_at IS NULL) AS undated
FROM ${database}.${raw_table}
WHERE dt IN (${event_days}) AND "$$path" IN (${files})
