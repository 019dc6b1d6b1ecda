-- Whether the pizza was baked before the early warning, a driver's claim on the order (so two
-- instances never both deliver it), and a version for saving only what was read.
ALTER TABLE {customers} ADD COLUMN late INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {customers} ADD COLUMN claimed_until INTEGER;
ALTER TABLE {customers} ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
