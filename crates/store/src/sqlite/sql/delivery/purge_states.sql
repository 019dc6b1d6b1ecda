DELETE FROM {customers} WHERE updated_at < ?1
