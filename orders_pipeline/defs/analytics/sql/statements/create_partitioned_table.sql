-- Creates a Parquet table partitioned by dt holding the query's rows (its first partition).
CREATE TABLE ${database}.${table}
WITH (
    format = 'PARQUET',
    external_location = '${location}',
    partitioned_by = ARRAY['dt']
)
AS ${query}
