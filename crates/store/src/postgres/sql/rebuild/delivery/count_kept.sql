-- The live rows the switch keeps as they are (keep_states): those delivery changed since the
-- rebuild began ($1) or that a driver still holds ($2: now), and those the history lacks.
SELECT COUNT(*) FILTER (WHERE updated_at >= $1 OR claimed_until > $2),
       COUNT(*) FILTER (WHERE updated_at < $1 AND (claimed_until IS NULL OR claimed_until <= $2)
                          AND order_id NOT IN (SELECT order_id FROM {customers}_rebuilt))
FROM {customers}
