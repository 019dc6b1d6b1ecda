-- Orders already flagged are not flagged again.
SELECT order_id FROM {watch} WHERE updated_at < ?1 AND status != ?2
