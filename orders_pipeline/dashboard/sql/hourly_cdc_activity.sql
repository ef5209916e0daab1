-- INSERT/MODIFY/REMOVE events per UTC hour: the CDC activity chart.
SELECT dt, event_hour, inserts, modifies, removes, events, inserted_revenue
FROM ${database}.hourly_cdc_activity
ORDER BY event_hour
