//! How long a pizza takes, derived from what is on it, as the original kitchen computes it.

use common::events::Pizza;
use md5::{Digest, Md5};

/// The last four hex digits of md5("{sauce}@{cheese}@{extras joined by ,}@{main_topping}").
pub fn recipe_seed(order: &Pizza) -> u64 {
    let recipe = format!(
        "{}@{}@{}@{}",
        order.sauce,
        order.cheese,
        order.extra_toppings.join(","),
        order.main_topping
    );
    let digest = Md5::digest(recipe.as_bytes());
    u64::from(u16::from_be_bytes([digest[14], digest[15]]))
}

/// Seconds to assemble: 4 to 11.
pub fn assembling_seconds(seed: u64) -> u64 {
    seed % 8 + 4
}

/// Seconds the oven needs, announced to bake: 8 to 15.
pub fn baking_seconds(seed: u64) -> u64 {
    seed % 8 + 8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(extras: &[&str]) -> Pizza {
        Pizza {
            extra_toppings: extras.iter().map(|s| s.to_string()).collect(),
            sauce: "Tomato".into(),
            cheese: "Mozzarella".into(),
            main_topping: "Pepperoni".into(),
        }
    }

    #[test]
    fn seed_is_the_last_four_hex_digits_of_the_recipe_md5() {
        // Computed the way the original does: hex digest, last four characters, base 16.
        let recipe = "Tomato@Mozzarella@Mushroom,Black olives@Pepperoni";
        let hex = format!("{:x}", Md5::digest(recipe.as_bytes()));
        let expected = u64::from_str_radix(&hex[hex.len() - 4..], 16).expect("hex");
        assert_eq!(recipe_seed(&order(&["Mushroom", "Black olives"])), expected);
    }

    #[test]
    fn every_recipe_takes_the_original_ranges() {
        for extras in [&[][..], &["Basil"], &["Basil", "Rocket", "Pineapple"]] {
            let seed = recipe_seed(&order(extras));
            assert!((4..=11).contains(&assembling_seconds(seed)));
            assert!((8..=15).contains(&baking_seconds(seed)));
            assert_eq!(baking_seconds(seed) - assembling_seconds(seed), 4);
        }
    }

    #[test]
    fn timing_formulas() {
        assert_eq!(assembling_seconds(0), 4);
        assert_eq!(baking_seconds(0), 8);
        assert_eq!(assembling_seconds(0xffff), 11);
        assert_eq!(baking_seconds(0xffff), 15);
        assert_eq!(assembling_seconds(0x1234), 0x1234 % 8 + 4);
    }

    proptest::proptest! {
        #[test]
        fn any_order_takes_the_original_ranges(
            extras in proptest::collection::vec(".{0,12}", 0..6),
            sauce in ".{0,12}",
        ) {
            let mut details = order(&[]);
            details.extra_toppings = extras;
            details.sauce = sauce;
            let seed = recipe_seed(&details);
            proptest::prop_assert!((4..=11).contains(&assembling_seconds(seed)));
            proptest::prop_assert!((8..=15).contains(&baking_seconds(seed)));
        }
    }
}
