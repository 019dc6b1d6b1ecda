-- An order's delivery state as the history has it (no claim: no driver is out for it), replacing
-- what the rebuilt table held of it. Its version is set when the switch compares it with the live
-- row.
INSERT INTO {customers}_rebuilt (order_id, customer_id, baked, late, claimed_until, delivered,
                                 version, updated_at)
VALUES (?1, ?2, ?3, ?4, NULL, ?5, 1, ?6)
ON CONFLICT (order_id) DO UPDATE SET
    customer_id = excluded.customer_id, baked = excluded.baked, late = excluded.late,
    claimed_until = NULL, delivered = excluded.delivered, updated_at = excluded.updated_at
