-- The partitions a query's rows fall in (its last columns are the partition keys).
SELECT DISTINCT ${keys} FROM (
${query}
)
