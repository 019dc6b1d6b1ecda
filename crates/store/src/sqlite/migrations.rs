//! Versioned schema changes. Each store has a list of SQL scripts (`sql/<store>_<n>.sql`); the
//! version a file is at is kept in `pizza_schema`, and the scripts it has not had yet run in one
//! IMMEDIATE transaction, so two processes starting at once do not both apply them.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::sql_text::with_tables;

/// Brings `store`'s tables up to the last of `scripts`; `tables` fills the `{name}` placeholders
/// with the configured table names.
pub(super) fn migrate(
    conn: &mut Connection,
    store: &str,
    scripts: &[&str],
    tables: &[(&str, &str)],
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS pizza_schema (store TEXT PRIMARY KEY, version INTEGER NOT NULL)",
    )?;
    let at: usize = tx
        .query_row(
            "SELECT version FROM pizza_schema WHERE store = ?1",
            [store],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(0);
    for script in scripts.iter().skip(at) {
        tx.execute_batch(&with_tables(script, tables))?;
    }
    tx.execute(
        "INSERT INTO pizza_schema (store, version) VALUES (?1, ?2) \
         ON CONFLICT (store) DO UPDATE SET version = excluded.version",
        rusqlite::params![store, scripts.len().max(at)],
    )?;
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_run_once_each_and_in_order() {
        let mut conn = Connection::open_in_memory().expect("sqlite");
        let first = ["CREATE TABLE {t} (a INTEGER);"];
        migrate(&mut conn, "s", &first, &[("t", "things")]).expect("v1");
        conn.execute("INSERT INTO things (a) VALUES (1)", [])
            .expect("table made");
        let both = [
            first[0],
            "ALTER TABLE {t} ADD COLUMN b INTEGER NOT NULL DEFAULT 7;",
        ];
        migrate(&mut conn, "s", &both, &[("t", "things")]).expect("v2");
        migrate(&mut conn, "s", &both, &[("t", "things")]).expect("again: nothing to do");
        let b: i64 = conn
            .query_row("SELECT b FROM things", [], |r| r.get(0))
            .expect("column added to the old row");
        assert_eq!(b, 7);
    }
}
