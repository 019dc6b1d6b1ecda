//! The PostgreSQL stores' statements, one file each under `sql/orders/` and `sql/delivery/`, with
//! the configured table names filled in when a store opens. Where SQLite runs a statement per row,
//! these take a batch's rows as arrays (`UNNEST`), one round trip for the batch.

use crate::sql_text::statements;

statements! {
    /// The orders view's: the orders, the watchdog's watches, the changes, the ended sessions.
    OrderStatements in "sql/orders" {
        insert_order,
        insert_watch,
        delete_order,
        delete_watch,
        select_order,
        select_customer_orders,
        lock_statuses,
        update_statuses,
        upsert_watches,
        delete_watches,
        flag_watches,
        count_stuck,
        flag_orders,
        insert_changes,
        notify_change,
        select_changes,
        select_order_changes,
        select_last_change,
        purge_orders_watch,
        purge_orders,
        purge_watch,
        purge_changes,
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
        upsert_orders,
        upsert_watches,
        count_kept,
        keep_watches,
        keep_orders,
        insert_changes,
    }
}

statements! {
    /// A rebuild's of delivery's memory: its rows written aside, and the switch.
    RebuildDeliveryStatements in "sql/rebuild/delivery" {
        upsert_states,
        bump_versions,
        count_kept,
        keep_states,
        count_changed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every placeholder a statement names is one its store fills in (whether the statements fit
    /// the schema, the contract suite shows on a real server).
    #[test]
    fn no_statement_keeps_a_placeholder() {
        let tables = [("orders", "my_orders"), ("watch", "my_watch")];
        let orders = OrderStatements::new(&tables);
        let rebuild = RebuildOrderStatements::new(&tables);
        let delivery = DeliveryStatements::new(&[("customers", "my_customers")]);
        let rebuild_delivery = RebuildDeliveryStatements::new(&[("customers", "my_customers")]);
        let every = orders
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
        }
    }
}
