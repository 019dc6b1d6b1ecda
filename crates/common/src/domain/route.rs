//! How long the driver takes, as the original computes it, and so how long delivery claims an
//! order: the delivery service and the tests that wait for every claim to lapse both read it
//! here.

use std::time::Duration;

/// The longest route: the remainder 9, doubled for a late early warning.
pub const LONGEST_ROUTE_SECONDS: f64 = 28.0;

/// The longest route at the configured speed, plus this margin, is how long a delivery keeps its
/// order claimed before another instance may take it over. It is longer than a producer keeps
/// trying to send an event (`message.timeout.ms`, 10 s), so the delivered event of an instance
/// that stalled cannot land after its claim has lapsed.
pub const CLAIM_MARGIN: Duration = Duration::from_secs(30);

/// How long delivery claims an order at `time_scale`.
pub fn claim(time_scale: f64) -> Duration {
    Duration::from_secs_f64(LONGEST_ROUTE_SECONDS * time_scale) + CLAIM_MARGIN
}

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
        assert_eq!(delivery_seconds("FF", false), Some(10));
        // int("1a", 16) % 10 + 5 == 11 and int("f" * 32, 16) % 10 + 5 == 10 (Python).
        assert_eq!(delivery_seconds("1a", false), Some(11));
        assert_eq!(delivery_seconds(&"f".repeat(32), false), Some(10));
    }

    #[test]
    fn the_longest_route_is_the_claims_route() {
        let longest = (0..10u32)
            .filter_map(|digit| char::from_digit(digit, 16))
            .flat_map(|digit| [false, true].map(|late| (digit, late)))
            .filter_map(|(digit, late)| delivery_seconds(&digit.to_string(), late))
            .max();
        assert_eq!(longest.map(|s| s as f64), Some(LONGEST_ROUTE_SECONDS));
        assert_eq!(claim(0.0), CLAIM_MARGIN);
        assert_eq!(claim(0.5), Duration::from_secs(44));
    }

    #[test]
    fn non_hex_ids_have_no_route() {
        assert_eq!(delivery_seconds("", false), None);
        assert_eq!(delivery_seconds("xyz", false), None);
    }

    proptest::proptest! {
        /// Hex ids of up to 32 digits fit a u128, so the original's `int(id, 16) % 10 + 5` can
        /// be computed whole and compared with the digit-by-digit remainder.
        #[test]
        fn hex_ids_route_as_the_whole_number_does(id in "[0-9a-fA-F]{1,32}", late: bool) {
            let whole = u128::from_str_radix(&id, 16).expect("hex");
            let seconds = u64::try_from(whole % 10).expect("below 10") + 5;
            let expected = if late { seconds * 2 } else { seconds };
            proptest::prop_assert_eq!(delivery_seconds(&id, late), Some(expected));
        }

        #[test]
        fn an_id_with_any_non_hex_character_has_no_route(
            before in "[0-9a-f]{0,16}",
            bad in "[^0-9a-fA-F]",
            after in "[0-9a-f]{0,16}",
        ) {
            let id = format!("{before}{bad}{after}");
            proptest::prop_assert_eq!(delivery_seconds(&id, false), None);
        }
    }
}
