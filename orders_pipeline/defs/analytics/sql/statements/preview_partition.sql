SELECT * FROM ${database}.${table} WHERE dt = '${dt}' LIMIT ${limit}
