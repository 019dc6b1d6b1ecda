-- A rebuilt row replaces a live one at the next version, so a delivery instance that read the
-- live row saves nothing over it and decides again from the rebuilt one.
UPDATE {customers}_rebuilt
SET version = (SELECT l.version + 1 FROM {customers} l
               WHERE l.order_id = {customers}_rebuilt.order_id)
WHERE order_id IN (SELECT order_id FROM {customers})
