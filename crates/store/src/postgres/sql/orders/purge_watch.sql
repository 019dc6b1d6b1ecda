DELETE FROM {watch} WHERE updated_at < $1
