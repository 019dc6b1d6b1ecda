-- The orders the watchdog watches in the rebuilt view, each since its last progress.
INSERT INTO {watch}_rebuilt (order_id, status, updated_at)
SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[]) AS u(order_id, status, updated_at)
ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at
