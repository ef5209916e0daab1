-- Creates a Parquet table with the query's columns (and rows, unless NO DATA), partitioned by
-- its last ones.
CREATE TABLE ${database}.${table}
WITH (
    format = 'PARQUET',
    external_location = '${location}',
    partitioned_by = ARRAY[${partition_keys}]
)
AS ${query}
WITH ${data}
