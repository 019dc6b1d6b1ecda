DELETE FROM {watch} WHERE order_id = $1
