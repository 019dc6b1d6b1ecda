SELECT status, status_at, customer_id FROM {orders} WHERE order_id = ?1
