SELECT * FROM ${database}.${table} LIMIT ${limit}
