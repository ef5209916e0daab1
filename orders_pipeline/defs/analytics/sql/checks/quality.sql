-- Every quality measure of the analytics tables in one query (each Athena query is billed at
-- least 10 MB): over the event days and creation days a refresh wrote, or over all of them.
WITH events AS (
    SELECT * FROM ${database}.order_events WHERE ${event_filter}
),
duplicate_events AS (
    SELECT dt, event_id FROM events GROUP BY dt, event_id HAVING count(*) > 1
),
duplicate_orders AS (
    SELECT orderid FROM ${database}.orders_current
    WHERE ${creation_filter}
    GROUP BY orderid HAVING count(*) > 1
)
SELECT
    count(*) AS events,
    count_if(cdc_event_type IS NULL OR cdc_event_type NOT IN ('INSERT', 'MODIFY', 'REMOVE'))
        AS invalid_cdc_event_type,
    min(CASE WHEN cdc_event_type IS NULL OR cdc_event_type NOT IN ('INSERT', 'MODIFY', 'REMOVE')
        THEN event_id END) AS invalid_cdc_event_type_example,
    count_if(orderid IS NULL OR orderid = '') AS null_orderid,
    min(CASE WHEN orderid IS NULL OR orderid = '' THEN event_id END) AS null_orderid_example,
    count_if(price < 0) AS negative_price,
    min(CASE WHEN price < 0 THEN orderid END) AS negative_price_example,
    count_if(quantity <= 0) AS non_positive_quantity,
    min(CASE WHEN quantity <= 0 THEN orderid END) AS non_positive_quantity_example,
    count_if(rejected IS NOT NULL) AS rejected_rows,
    min(CASE WHEN rejected IS NOT NULL THEN coalesce(orderid, event_id) || ': ' || rejected END)
        AS rejected_example,
    max(CASE WHEN rejected IS NOT NULL THEN coalesce(orderid, event_id) || ': ' || rejected END)
        AS rejected_other_example,
    count_if(created_dt = '${unknown_day}' AND cdc_event_type <> 'REMOVE') AS unknown_creation_day,
    min(CASE WHEN created_dt = '${unknown_day}' AND cdc_event_type <> 'REMOVE'
        THEN coalesce(orderid, event_id) END) AS unknown_creation_day_example,
    max(creation_datetime) AS newest_event_time,
    (SELECT count(*) FROM duplicate_events) AS duplicate_event_ids,
    (SELECT min(event_id) FROM duplicate_events) AS duplicate_event_id_example,
    (SELECT count(*) FROM duplicate_orders) AS duplicate_orderids,
    (SELECT min(orderid) FROM duplicate_orders) AS duplicate_orderid_example
FROM events
