-- Status funnel of the orders created on one day: how many ever reached each status, from the
-- whole event history (later events included), and each count as a share of the orders placed.
WITH reached AS (
    SELECT
        orderid,
        MAX(CASE WHEN status = 'PAID' THEN 1 ELSE 0 END) AS paid,
        MAX(CASE WHEN status = 'SHIPPED' THEN 1 ELSE 0 END) AS shipped,
        MAX(CASE WHEN status = 'DELIVERED' THEN 1 ELSE 0 END) AS delivered,
        MAX(CASE WHEN status = 'CANCELLED' THEN 1 ELSE 0 END) AS cancelled,
        MAX(CASE WHEN status = 'RETURNED' THEN 1 ELSE 0 END) AS returned
    FROM ${database}.order_events
    WHERE substr(created_at, 1, 10) = '${dt}'
    GROUP BY orderid
),
counts AS (
    SELECT
        COUNT(*) AS placed,
        SUM(paid) AS paid,
        SUM(shipped) AS shipped,
        SUM(delivered) AS delivered,
        SUM(cancelled) AS cancelled,
        SUM(returned) AS returned
    FROM reached
    HAVING COUNT(*) > 0
)
SELECT
    placed,
    paid,
    shipped,
    delivered,
    cancelled,
    returned,
    CAST(paid AS DOUBLE) / placed AS paid_rate,
    CAST(shipped AS DOUBLE) / placed AS shipped_rate,
    CAST(delivered AS DOUBLE) / placed AS delivered_rate,
    CAST(cancelled AS DOUBLE) / placed AS cancellation_rate,
    CAST(returned AS DOUBLE) / placed AS return_rate,
    '${dt}' AS dt
FROM counts
