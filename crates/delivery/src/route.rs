//! How long the driver takes, as the original computes it.

/// `int(customer_id, 16) % 10 + 5` seconds, doubled when the early warning came late (the driver
/// could not plan ahead). `None` when the customer id is not hexadecimal.
pub fn delivery_seconds(customer_id: &str, late: bool) -> Option<u64> {
    if customer_id.is_empty() {
        return None;
    }
    // The remainder modulo 10 digit by digit: ids are 32 hex digits, wider than any integer type
    // worth using here, and the remainder is all the formula needs.
    let mut remainder = 0u64;
    for c in customer_id.chars() {
        remainder = (remainder * 16 + u64::from(c.to_digit(16)?)) % 10;
    }
    let seconds = remainder + 5;
    Some(if late { seconds * 2 } else { seconds })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_originals_formula() {
        // int("d94a6c43d9f487c1bef659f05c002213", 16) % 10 == 5 (checked with Python).
        assert_eq!(
            delivery_seconds("d94a6c43d9f487c1bef659f05c002213", false),
            Some(10)
        );
        assert_eq!(
            delivery_seconds("d94a6c43d9f487c1bef659f05c002213", true),
            Some(20)
        );
        assert_eq!(delivery_seconds("0", false), Some(5));
        assert_eq!(delivery_seconds("f", false), Some(10));
        assert_eq!(delivery_seconds("FF", false), Some(255 % 10 + 5));
    }

    #[test]
    fn non_hex_ids_have_no_route() {
        assert_eq!(delivery_seconds("", false), None);
        assert_eq!(delivery_seconds("xyz", false), None);
    }

    proptest::proptest! {
        #[test]
        fn any_customer_id_gets_a_route_of_5_to_28_seconds_or_none(id in ".{0,40}", late: bool) {
            if let Some(seconds) = delivery_seconds(&id, late) {
                proptest::prop_assert!((5..=28).contains(&seconds));
            }
        }
    }
}
