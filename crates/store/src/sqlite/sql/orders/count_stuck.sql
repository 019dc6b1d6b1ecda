SELECT COUNT(*) FROM {watch} WHERE status = ?1
