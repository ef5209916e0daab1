-- Each current order's value and last change, to reconcile with DynamoDB as of the newest one.
SELECT orderid, order_total, updated_at
FROM ${database}.orders_current
