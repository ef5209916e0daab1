-- Latest state of the orders created on some days, by stream sequence; an order whose latest
-- change is a REMOVE is gone. Reads the events of those orders only (order_events' created_dt
-- partitions, every event day), and the REMOVEs whose creation day no record gave (partition
-- 'unknown': a REMOVE of a KEYS_ONLY or NEW_IMAGE stream holds only the key). Sequence numbers
-- are decimal strings of varying length: they compare by length, then as text.
SELECT ${order_columns},
    event_id AS last_event_id,
    sequence_number AS last_sequence_number,
    creation_datetime AS last_event_time,
    created_dt AS dt
FROM (
    SELECT
        events.*,
        row_number() OVER (
            PARTITION BY events.orderid
            ORDER BY length(events.sequence_number) DESC, events.sequence_number DESC
        ) AS recency
    FROM (
        SELECT * FROM ${database}.order_events
        WHERE created_dt IN (${creation_days}) AND orderid IS NOT NULL
        UNION ALL
        SELECT * FROM ${database}.order_events
        WHERE created_dt = '${unknown_day}'
            AND cdc_event_type = 'REMOVE'
            AND orderid IN (
                SELECT orderid FROM ${database}.order_events
                WHERE created_dt IN (${creation_days})
            )
    ) AS events
) AS ranked
WHERE recency = 1 AND cdc_event_type <> 'REMOVE'
