-- Sales by order date, category and product: revenue charts, top products and money KPIs.
SELECT dt, category, product_name, orders, units, gross_revenue, discounts, net_revenue,
       avg_order_value
FROM ${database}.daily_sales
ORDER BY dt, category, product_name
