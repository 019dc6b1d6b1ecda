DELETE FROM {orders}_changes WHERE changed_at < ?1
