-- Every order the switch shows differently, as a change of the view (?1: now), so the pages
-- following it hear of it like of any other change.
INSERT INTO {orders}_changes (order_id, customer_id, status, status_at, changed_at)
SELECT r.order_id, r.customer_id, r.status, r.status_at, ?1
FROM {orders}_rebuilt r
LEFT JOIN {orders} l ON l.order_id = r.order_id
WHERE l.order_id IS NULL OR l.status <> r.status OR l.status_at <> r.status_at
ORDER BY r.order_id
