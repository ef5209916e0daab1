-- Deduplicated order events of one event date (the raw `dt` partition): one row per event_id,
-- so a re-delivered stream changes nothing. Columns get their analytic types here, once.
SELECT
    CAST(orderid AS VARCHAR) AS orderid,
    CAST(customer_id AS VARCHAR) AS customer_id,
    CAST(customer_name AS VARCHAR) AS customer_name,
    CAST(product_id AS VARCHAR) AS product_id,
    CAST(product_name AS VARCHAR) AS product_name,
    CAST(category AS VARCHAR) AS category,
    CAST(quantity AS INTEGER) AS quantity,
    CAST(price AS DECIMAL(18, 2)) AS price,
    CAST(discount AS DECIMAL(18, 2)) AS discount,
    CAST(order_total AS DECIMAL(18, 2)) AS order_total,
    CAST(currency AS VARCHAR) AS currency,
    CAST(status AS VARCHAR) AS status,
    CAST(payment_method AS VARCHAR) AS payment_method,
    CAST(channel AS VARCHAR) AS channel,
    CAST(shipping_country AS VARCHAR) AS shipping_country,
    CAST(shipping_city AS VARCHAR) AS shipping_city,
    CAST(created_at AS VARCHAR) AS created_at,
    CAST(updated_at AS VARCHAR) AS updated_at,
    CAST(cdc_event_type AS VARCHAR) AS cdc_event_type,
    CAST(event_id AS VARCHAR) AS event_id,
    CAST(sequence_number AS VARCHAR) AS sequence_number,
    CAST(from_iso8601_timestamp(creation_datetime) AT TIME ZONE 'UTC' AS TIMESTAMP)
        AS creation_datetime,
    CAST(is_deleted AS BOOLEAN) AS is_deleted,
    dt
FROM (
    SELECT
        raw.*,
        row_number() OVER (PARTITION BY raw.event_id ORDER BY raw.sequence_number) AS copy_number
    FROM ${database}.${raw_table} AS raw
    WHERE raw.dt = '${dt}'
) AS delivered
WHERE copy_number = 1
