//! The SQLite stores' statements, one file each under `sql/orders/` and `sql/delivery/`, with the
//! configured table names filled in when a store opens.

use crate::sql_text::statements;

statements! {
    /// The orders view's: the orders, the watchdog's watches, the changes, the ended sessions.
    OrderStatements in "sql/orders" {
        insert_order,
        delete_order,
        select_order,
        select_customer_orders,
        select_status,
        update_status,
        insert_change,
        select_changes,
        select_order_changes,
        select_last_change,
        purge_changes,
        upsert_watch,
        delete_watch,
        select_stuck,
        count_stuck,
        flag_order,
        flag_watch,
        purge_orders_watch,
        purge_orders,
        purge_watch,
        end_sessions,
        select_sessions_ended,
        purge_sessions_ended,
    }
}

statements! {
    /// Delivery's: one row of state per order, saved only over the version read.
    DeliveryStatements in "sql/delivery" {
        select_state,
        insert_state,
        update_state,
        purge_states,
    }
}

statements! {
    /// A rebuild's of the orders view: its rows written aside, and the switch (`crate::rebuild`).
    RebuildOrderStatements in "sql/rebuild/orders" {
        upsert_order,
        count_kept,
        keep_watches,
        keep_orders,
        insert_changes,
    }
}

statements! {
    /// A rebuild's of delivery's memory: its rows written aside, and the switch.
    RebuildDeliveryStatements in "sql/rebuild/delivery" {
        upsert_state,
        bump_versions,
        count_kept,
        keep_states,
        count_changed,
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::sqlite::migrations::migrate;

    /// Every statement compiles against the schema its store's migrations make (and a rebuild's
    /// tables aside), under names other than the defaults: a misspelt placeholder, column or table fails here, not in a service.
    #[test]
    fn every_statement_fits_the_schema_under_any_table_names() {
        let mut conn = Connection::open_in_memory().expect("sqlite");
        let orders = [("orders", "my_orders"), ("watch", "my_watch")];
        migrate(
            &mut conn,
            "orders",
            &crate::sqlite::orders::MIGRATIONS,
            &orders,
        )
        .expect("orders");
        let delivery = [("customers", "my_customers")];
        migrate(
            &mut conn,
            "delivery",
            &crate::sqlite::delivery::MIGRATIONS,
            &delivery,
        )
        .expect("delivery");
        crate::sqlite::aside::make_aside(
            &conn,
            std::path::Path::new(":memory:"),
            &["my_orders", "my_watch", "my_customers"],
        )
        .expect("the tables aside of a rebuild");
        let statements = OrderStatements::new(&orders);
        let rebuild = RebuildOrderStatements::new(&orders);
        let rebuild_delivery = RebuildDeliveryStatements::new(&delivery);
        let delivery = DeliveryStatements::new(&delivery);
        let every = statements
            .each()
            .into_iter()
            .chain(delivery.each())
            .chain(rebuild.each())
            .chain(rebuild_delivery.each());
        for (name, sql) in every {
            assert!(
                !sql.contains(['{', '}']),
                "{name} keeps a placeholder: {sql}"
            );
            if let Err(error) = conn.prepare(sql) {
                panic!("{name}: {error}\n{sql}");
            }
        }
    }
}
