-- Delivered to the listeners when the transaction commits, and not at all if it rolls back.
SELECT pg_notify($1, '')
