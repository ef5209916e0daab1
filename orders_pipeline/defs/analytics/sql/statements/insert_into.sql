-- Appends the query's rows; Athena writes them under the table location's dt=<day>/ folders.
INSERT INTO ${database}.${table}
${query}
