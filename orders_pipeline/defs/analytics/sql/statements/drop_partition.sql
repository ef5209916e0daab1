ALTER TABLE ${database}.${table} DROP IF EXISTS PARTITION (dt = '${dt}')
