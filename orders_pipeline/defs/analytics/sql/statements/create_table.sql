-- Creates an unpartitioned Parquet table holding the query's result.
CREATE TABLE ${database}.${table}
WITH (
    format = 'PARQUET',
    external_location = '${location}'
)
AS ${query}
