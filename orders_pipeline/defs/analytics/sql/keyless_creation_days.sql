-- The creation days of the orders removed on some event days by a REMOVE that holds only the
-- key (created_dt 'unknown'): where those orders are now. A scan of orders_current, run only
-- when such REMOVEs arrived (never under the template's NEW_AND_OLD_IMAGES stream).
SELECT DISTINCT dt AS created_dt
FROM ${database}.orders_current
WHERE orderid IN (
    SELECT orderid FROM ${database}.order_events
    WHERE dt IN (${event_days}) AND created_dt = '${unknown_day}'
)
