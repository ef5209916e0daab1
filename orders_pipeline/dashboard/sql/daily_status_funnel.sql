-- Status funnel by order date: the funnel chart and the cancellation and return rates.
SELECT dt, placed, paid, shipped, delivered, cancelled, returned,
       paid_rate, shipped_rate, delivered_rate, cancellation_rate, return_rate
FROM ${database}.daily_status_funnel
ORDER BY dt
