-- Orders' delivery states as the history has them (no claim: no driver is out for them),
-- replacing what the rebuilt table held of them. Their version is set when the switch compares
-- them with the live rows.
INSERT INTO {customers}_rebuilt (order_id, customer_id, baked, late, claimed_until, delivered,
                                 version, updated_at)
SELECT u.order_id, u.customer_id, u.baked, u.late, NULL, u.delivered, 1, u.updated_at
FROM UNNEST($1::text[], $2::text[], $3::boolean[], $4::boolean[], $5::boolean[], $6::bigint[])
     AS u(order_id, customer_id, baked, late, delivered, updated_at)
ON CONFLICT (order_id) DO UPDATE SET
    customer_id = excluded.customer_id, baked = excluded.baked, late = excluded.late,
    claimed_until = NULL, delivered = excluded.delivered, updated_at = excluded.updated_at
