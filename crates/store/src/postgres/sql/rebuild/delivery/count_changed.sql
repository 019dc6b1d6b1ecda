-- The rows the switch changes: new, or holding something else than the live row.
SELECT COUNT(*)
FROM {customers}_rebuilt r
LEFT JOIN {customers} l ON l.order_id = r.order_id
WHERE l.order_id IS NULL
   OR r.customer_id IS DISTINCT FROM l.customer_id OR r.baked <> l.baked OR r.late <> l.late
   OR r.claimed_until IS DISTINCT FROM l.claimed_until OR r.delivered <> l.delivered
