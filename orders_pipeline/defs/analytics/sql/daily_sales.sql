-- Sales of the orders created on one day, by category and product, from their current state.
-- net_revenue also takes out the value of orders now CANCELLED or RETURNED.
SELECT
    category,
    product_name,
    COUNT(*) AS orders,
    SUM(quantity) AS units,
    CAST(SUM(quantity * price) AS DECIMAL(18, 2)) AS gross_revenue,
    CAST(SUM(discount) AS DECIMAL(18, 2)) AS discounts,
    CAST(
        SUM(quantity * price)
        - SUM(discount)
        - SUM(CASE WHEN status IN ('CANCELLED', 'RETURNED') THEN order_total ELSE 0 END)
        AS DECIMAL(18, 2)
    ) AS net_revenue,
    CAST(AVG(order_total) AS DECIMAL(18, 2)) AS avg_order_value,
    substr(created_at, 1, 10) AS dt
FROM ${database}.orders_current
WHERE substr(created_at, 1, 10) = '${dt}'
GROUP BY category, product_name, substr(created_at, 1, 10)
