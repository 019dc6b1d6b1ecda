INSERT INTO {watch} (order_id, status, updated_at)
VALUES ($1, $2, $3)
ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at
