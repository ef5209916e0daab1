-- Change-data-capture activity of some event days, per UTC hour.
SELECT
    date_trunc('hour', creation_datetime) AS event_hour,
    sum(CASE WHEN cdc_event_type = 'INSERT' THEN 1 ELSE 0 END) AS inserts,
    sum(CASE WHEN cdc_event_type = 'MODIFY' THEN 1 ELSE 0 END) AS modifies,
    sum(CASE WHEN cdc_event_type = 'REMOVE' THEN 1 ELSE 0 END) AS removes,
    count(*) AS events,
    CAST(
        coalesce(sum(CASE WHEN cdc_event_type = 'INSERT' THEN order_total END), 0)
        AS DECIMAL(18, 2)
    ) AS inserted_revenue,
    dt
FROM ${database}.order_events
WHERE dt IN (${event_days})
GROUP BY date_trunc('hour', creation_datetime), dt
