SELECT customer_id, baked, late, claimed_until, delivered, version
FROM {customers}
WHERE order_id = $1
