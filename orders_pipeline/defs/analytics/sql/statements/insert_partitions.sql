-- Appends the query's rows that fall in some partitions (at most 100 per INSERT on Athena).
INSERT INTO ${database}.${table}
SELECT * FROM (
${query}
) WHERE ${partitions}
