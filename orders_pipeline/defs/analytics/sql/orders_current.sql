-- Latest state of every order by stream sequence; an order whose latest change is a REMOVE is gone.
-- Sequence numbers are decimal strings of varying length: compare by length, then text.
SELECT
    orderid,
    customer_id,
    product_id,
    product_name,
    category,
    quantity,
    price,
    discount,
    order_total,
    currency,
    status,
    payment_method,
    channel,
    shipping_country,
    created_at,
    updated_at,
    event_id AS last_event_id,
    sequence_number AS last_sequence_number,
    creation_datetime AS last_event_time
FROM (
    SELECT
        events.*,
        row_number() OVER (
            PARTITION BY events.orderid
            ORDER BY length(events.sequence_number) DESC, events.sequence_number DESC
        ) AS recency
    FROM ${database}.order_events AS events
) AS ranked
WHERE recency = 1 AND cdc_event_type <> 'REMOVE'
