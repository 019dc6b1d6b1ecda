//! How long a pizza takes, derived from what is on it, as the original kitchen computes it.

use common::domain::events::Pizza;
use md5::{Digest, Md5};

/// The last four hex digits of md5("{sauce}@{cheese}@{extras joined by ,}@{main_topping}").
pub(crate) fn recipe_seed(order: &Pizza) -> u64 {
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
pub(crate) fn assembling_seconds(seed: u64) -> u64 {
    seed % 8 + 4
}

/// Seconds the oven needs, announced to bake: 8 to 15.
pub(crate) fn baking_seconds(seed: u64) -> u64 {
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

    /// Each recipe with the seed, assembling and baking seconds the original's Python gives it:
    /// `int(hashlib.md5(recipe.encode()).hexdigest()[-4:], 16)`, then `% 8 + 4` and `% 8 + 8`.
    type Known = (
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static str,
        u64,
        u64,
        u64,
    );
    const FROM_THE_ORIGINAL: [Known; 3] = [
        (
            "Tomato",
            "Mozzarella",
            &["Mushroom", "Black olives"],
            "Pepperoni",
            45363,
            7,
            11,
        ),
        ("Tomato", "Mozzarella", &[], "Pepperoni", 48896, 4, 8),
        (
            "Pesto",
            "Vegan cheese",
            &["Basil", "Rocket", "Pineapple"],
            "Ham",
            27497,
            5,
            9,
        ),
    ];

    #[test]
    fn seeds_and_times_match_the_originals() {
        for (sauce, cheese, extras, main, seed, assembling, baking) in FROM_THE_ORIGINAL {
            let pizza = Pizza {
                extra_toppings: extras.iter().map(|s| s.to_string()).collect(),
                sauce: sauce.into(),
                cheese: cheese.into(),
                main_topping: main.into(),
            };
            assert_eq!(recipe_seed(&pizza), seed, "{pizza:?}");
            assert_eq!(assembling_seconds(seed), assembling);
            assert_eq!(baking_seconds(seed), baking);
        }
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
