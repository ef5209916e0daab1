-- The change events of some event days, typed and one row per (day, event_id): a replayed
-- stream changes nothing. A value that cannot be typed is NULL and `rejected` says which and
-- why; a column the raw table lacks is NULL for every row. Partitioned by event day, then by
-- the order's creation day (created_dt), so the creation-day tables read only their orders.
-- With a file list, only those raw files are read, and events order_events already holds for
-- those days (a replay landing in a later file) are left out.
SELECT
    ${typed_columns},
    ${rejected} AS rejected,
    delivered.source_file AS source_file,
    delivered.dt AS dt,
    ${created_dt} AS created_dt
FROM (
    SELECT
        raw.*,
        raw."$$path" AS source_file,
        -- A replay's copies are alike but for their file: the first delivered is kept.
        row_number() OVER (
            PARTITION BY raw.dt, raw.event_id ORDER BY raw.sequence_number, raw."$$path"
        ) AS copy_number${batch_first_day}
    FROM ${database}.${raw_table} AS raw
    WHERE raw.dt IN (${event_days})${file_filter}
) AS delivered${known_creation_days}${already_kept}
WHERE delivered.copy_number = 1${not_kept}
