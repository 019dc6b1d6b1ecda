//! The stores' SQL text. Each backend keeps its statements as `.sql` files, one statement each
//! (`src/<backend>/sql/<store>/<statement>.sql`), beside its versioned schema scripts; both name
//! their tables by placeholders (`{orders}`, `{watch}`, `{customers}`) since the names come from
//! configuration. A store fills them in once, when it opens: every call then runs a finished
//! text, which the statement caches find by that text.

use crate::StoreError;

/// Table names come from configuration and end up in SQL text, so only plain identifiers pass.
pub(crate) fn table_name(name: &str) -> Result<String, StoreError> {
    let plain = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        Ok(name.to_owned())
    } else {
        Err(StoreError::TableName(name.to_owned()))
    }
}

/// `sql` with each `{placeholder}` of `tables` replaced by its table's name.
pub(crate) fn with_tables(sql: &str, tables: &[(&str, &str)]) -> String {
    tables
        .iter()
        .fold(sql.to_owned(), |sql, (placeholder, table)| {
            sql.replace(&format!("{{{placeholder}}}"), table)
        })
}

/// A store's statements: a struct with a field per statement, each read from the file of the same
/// name in `$folder` (relative to the module that uses the macro) and filled in by `new`, so a
/// field and its file cannot drift apart.
macro_rules! statements {
    ($(#[$doc:meta])* $name:ident in $folder:literal { $($statement:ident),+ $(,)? }) => {
        $(#[$doc])*
        pub(super) struct $name {
            $(pub(super) $statement: String,)+
        }

        impl $name {
            pub(super) fn new(tables: &[(&str, &str)]) -> Self {
                Self {
                    $($statement: $crate::sql_text::with_tables(
                        include_str!(concat!($folder, "/", stringify!($statement), ".sql"))
                            .trim_end(),
                        tables,
                    ),)+
                }
            }

            /// Every statement, by name.
            #[cfg(test)]
            pub(super) fn each(&self) -> Vec<(&'static str, &str)> {
                vec![$((stringify!($statement), self.$statement.as_str()),)+]
            }
        }
    };
}

pub(crate) use statements;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_must_be_plain() {
        assert!(table_name("orders").is_ok());
        assert!(table_name("status_watch2").is_ok());
        assert!(table_name("orders; DROP TABLE x").is_err());
        assert!(table_name("1st").is_err());
        assert!(table_name("").is_err());
    }

    #[test]
    fn every_placeholder_is_filled_and_suffixes_stay() {
        let sql = "DELETE FROM {orders}_changes WHERE order_id IN (SELECT order_id FROM {watch}) \
                   AND {orders}.x = 1";
        assert_eq!(
            with_tables(sql, &[("orders", "o"), ("watch", "w")]),
            "DELETE FROM o_changes WHERE order_id IN (SELECT order_id FROM w) AND o.x = 1"
        );
    }
}
