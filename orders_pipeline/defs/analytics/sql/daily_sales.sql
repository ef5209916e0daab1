-- Sales of the orders created on some days, by category and product, from their current state.
-- Revenue comes from quantity x price (an order total is derived the same way when the items
-- carry none); net_revenue also takes out the value of orders now CANCELLED or RETURNED.
SELECT
    coalesce(category, 'unknown') AS category,
    coalesce(product_name, 'unknown') AS product_name,
    count(*) AS orders,
    coalesce(sum(quantity), 0) AS units,
    CAST(coalesce(sum(quantity * price), 0) AS DECIMAL(18, 2)) AS gross_revenue,
    CAST(coalesce(sum(discount), 0) AS DECIMAL(18, 2)) AS discounts,
    CAST(
        coalesce(sum(quantity * price), 0)
        - coalesce(sum(discount), 0)
        - coalesce(sum(CASE WHEN status IN ('CANCELLED', 'RETURNED') THEN order_total END), 0)
        AS DECIMAL(18, 2)
    ) AS net_revenue,
    CAST(avg(order_total) AS DECIMAL(18, 2)) AS avg_order_value,
    dt
FROM ${database}.orders_current
WHERE dt IN (${creation_days})
GROUP BY coalesce(category, 'unknown'), coalesce(product_name, 'unknown'), dt
