-- The lock makes writers of changes take turns until they commit, so the order of `seq` is the
-- order of commits and a reader never skips a change committed late.
WITH turn AS (SELECT pg_advisory_xact_lock(hashtext('pizza_changes')))
INSERT INTO {orders}_changes (order_id, customer_id, status, status_at, changed_at)
SELECT u.order_id, u.customer_id, u.status, u.status_at, $5
FROM turn, UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[])
     AS u(order_id, customer_id, status, status_at)
