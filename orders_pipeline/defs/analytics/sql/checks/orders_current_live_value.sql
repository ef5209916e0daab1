-- Live orders and their total value, to reconcile with the DynamoDB table.
SELECT COUNT(*) AS live_orders, CAST(COALESCE(SUM(order_total), 0) AS DECIMAL(18, 2)) AS total_value
FROM ${database}.orders_current
