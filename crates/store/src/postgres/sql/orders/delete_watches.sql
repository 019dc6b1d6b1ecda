DELETE FROM {watch} WHERE order_id = ANY($1)
