-- Another watchdog (on another host) may be flagging at the same time: rows it holds are left to
-- it. Orders already flagged are not flagged again.
UPDATE {watch} SET status = $2
WHERE order_id IN (SELECT order_id FROM {watch}
                   WHERE updated_at < $1 AND status <> $2
                   FOR UPDATE SKIP LOCKED)
RETURNING order_id
