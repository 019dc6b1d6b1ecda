//! Events are written as the original wrote them, with Python's `json.dumps`: a space after each
//! `,` and `:` (`{"status": 100, "timestamp": 1676235639159}`). Consumers do not care, but the
//! values are what the log panel and the workshop guide show, so they read the same.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// `value` as `json.dumps(value)` would write it.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut bytes = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, Spaced);
    value.serialize(&mut serializer)?;
    Ok(bytes)
}

struct Spaced;

/// `, ` before every element but the first, as `json.dumps` separates them.
fn separate<W: ?Sized + io::Write>(writer: &mut W, first: bool) -> io::Result<()> {
    if first {
        Ok(())
    } else {
        writer.write_all(b", ")
    }
}

impl Formatter for Spaced {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        separate(writer, first)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        separate(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_json_dumps_writes() {
        let value = serde_json::json!({"status": 100, "order": {"extra_toppings": ["Mushroom", "Black olives"], "name": "O'Brien \"Bob\""}, "empty": [], "none": {}});
        let text = String::from_utf8(to_vec(&value).expect("serialises")).expect("UTF-8");
        // serde_json's `json!` keeps keys sorted; json.dumps(value, sort_keys=True) gives this.
        assert_eq!(
            text,
            r#"{"empty": [], "none": {}, "order": {"extra_toppings": ["Mushroom", "Black olives"], "name": "O'Brien \"Bob\""}, "status": 100}"#
        );
        let back: serde_json::Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(back, value);
    }
}
