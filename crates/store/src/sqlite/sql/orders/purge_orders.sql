DELETE FROM {orders} WHERE timestamp < ?1
