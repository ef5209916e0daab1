-- Per column, the rows of some event days whose value of it was rejected (each rejection in
-- `rejected` reads "<column> <value> is not a <type>", separated by "; ").
SELECT split_part(reason, ' ', 1) AS column_name, count(*) AS rejected_rows
FROM ${database}.order_events
CROSS JOIN UNNEST(split(rejected, '; ')) AS reasons (reason)
WHERE dt IN (${event_days}) AND rejected IS NOT NULL
GROUP BY split_part(reason, ' ', 1)
