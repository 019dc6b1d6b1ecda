SELECT COALESCE(MAX(seq), 0) FROM {orders}_changes
