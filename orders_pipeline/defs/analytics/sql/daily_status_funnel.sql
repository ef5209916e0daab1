-- Status funnel of the orders created on some days: how many ever reached each status (from
-- their whole event history, every event day), each as a share of the orders placed. An
-- order whose records carry no status counts as placed only.
WITH reached AS (
    SELECT
        orderid,
        max(created_dt) AS dt,
        max(CASE WHEN status = 'PAID' THEN 1 ELSE 0 END) AS paid,
        max(CASE WHEN status = 'SHIPPED' THEN 1 ELSE 0 END) AS shipped,
        max(CASE WHEN status = 'DELIVERED' THEN 1 ELSE 0 END) AS delivered,
        max(CASE WHEN status = 'CANCELLED' THEN 1 ELSE 0 END) AS cancelled,
        max(CASE WHEN status = 'RETURNED' THEN 1 ELSE 0 END) AS returned
    FROM ${database}.order_events
    WHERE created_dt IN (${creation_days}) AND orderid IS NOT NULL
    GROUP BY orderid
)
SELECT
    count(*) AS placed,
    sum(paid) AS paid,
    sum(shipped) AS shipped,
    sum(delivered) AS delivered,
    sum(cancelled) AS cancelled,
    sum(returned) AS returned,
    CAST(sum(paid) AS DOUBLE) / count(*) AS paid_rate,
    CAST(sum(shipped) AS DOUBLE) / count(*) AS shipped_rate,
    CAST(sum(delivered) AS DOUBLE) / count(*) AS delivered_rate,
    CAST(sum(cancelled) AS DOUBLE) / count(*) AS cancellation_rate,
    CAST(sum(returned) AS DOUBLE) / count(*) AS return_rate,
    dt
FROM reached
GROUP BY dt
