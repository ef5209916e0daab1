-- The order-creation days present in the events: the partitions of the creation-day tables.
SELECT DISTINCT substr(created_at, 1, 10) AS dt
FROM ${database}.order_events
ORDER BY dt
