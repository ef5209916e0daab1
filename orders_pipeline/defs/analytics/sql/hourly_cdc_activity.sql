-- Change-data-capture activity of one event date, per UTC hour.
SELECT
    date_trunc('hour', creation_datetime) AS event_hour,
    SUM(CASE WHEN cdc_event_type = 'INSERT' THEN 1 ELSE 0 END) AS inserts,
    SUM(CASE WHEN cdc_event_type = 'MODIFY' THEN 1 ELSE 0 END) AS modifies,
    SUM(CASE WHEN cdc_event_type = 'REMOVE' THEN 1 ELSE 0 END) AS removes,
    COUNT(*) AS events,
    CAST(
        COALESCE(SUM(CASE WHEN cdc_event_type = 'INSERT' THEN order_total END), 0)
        AS DECIMAL(18, 2)
    ) AS inserted_revenue,
    dt
FROM ${database}.order_events
WHERE dt = '${dt}'
GROUP BY date_trunc('hour', creation_datetime), dt
