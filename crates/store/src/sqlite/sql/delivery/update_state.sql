-- Only over the version the caller read (?8): a row another event or instance changed since
-- is left as it is, and the caller decides again.
UPDATE {customers}
SET customer_id = ?2, baked = ?3, late = ?4, claimed_until = ?5, delivered = ?6,
    version = version + 1, updated_at = ?7
WHERE order_id = ?1 AND version = ?8
