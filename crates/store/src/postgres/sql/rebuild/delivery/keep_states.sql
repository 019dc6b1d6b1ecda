-- Delivery's own latest word wins over the history: a row it changed since the rebuild began
-- ($1) or a claim still held ($2: now) is kept with its version, and so is a row the history
-- lacks.
INSERT INTO {customers}_rebuilt (order_id, customer_id, baked, late, claimed_until, delivered,
                                 version, updated_at)
SELECT order_id, customer_id, baked, late, claimed_until, delivered, version, updated_at
FROM {customers}
WHERE updated_at >= $1 OR claimed_until > $2
   OR order_id NOT IN (SELECT order_id FROM {customers}_rebuilt)
ON CONFLICT (order_id) DO UPDATE SET
    customer_id = excluded.customer_id, baked = excluded.baked, late = excluded.late,
    claimed_until = excluded.claimed_until, delivered = excluded.delivered,
    version = excluded.version, updated_at = excluded.updated_at
