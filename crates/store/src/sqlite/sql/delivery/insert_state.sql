-- The first save of an order, at version 1. Of two instances saving one at once, the second
-- writes nothing, and hears so.
INSERT INTO {customers} (order_id, customer_id, baked, late, claimed_until, delivered, version,
                         updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)
ON CONFLICT (order_id) DO NOTHING
