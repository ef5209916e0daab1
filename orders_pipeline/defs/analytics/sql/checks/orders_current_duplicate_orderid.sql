-- orderids present more than once in the current state.
SELECT COUNT(*) AS failing_rows, MIN(orderid) AS example
FROM (
    SELECT orderid FROM ${database}.orders_current GROUP BY orderid HAVING COUNT(*) > 1
) AS duplicated
