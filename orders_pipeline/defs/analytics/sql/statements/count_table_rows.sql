SELECT COUNT(*) AS row_count FROM ${database}.${table}
