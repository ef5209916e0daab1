SELECT * FROM ${database}.${table}
