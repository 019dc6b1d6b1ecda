UPDATE {orders} SET status = ?2, status_at = ?3 WHERE order_id = ?1
