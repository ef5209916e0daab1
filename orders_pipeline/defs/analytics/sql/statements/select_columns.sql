SELECT ${columns} FROM ${database}.${table} ORDER BY ${order}
