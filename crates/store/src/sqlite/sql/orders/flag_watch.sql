UPDATE {watch} SET status = ?2 WHERE order_id = ?1
