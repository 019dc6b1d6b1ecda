//! The order form: every choice must be on the menu of `[pizza]`.

use common::domain::events::Pizza;
use common::settings::Menu;
use serde::Deserialize;

use crate::error::AppError;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrderForm {
    pub sauce: Option<String>,
    pub cheese: Option<String>,
    pub main_topping: Option<String>,
    #[serde(default)]
    pub extra_topping: Vec<String>,
}

impl OrderForm {
    /// The pizza, when every part of it is on the menu.
    pub fn validate(self, menu: &Menu) -> Result<Pizza, AppError> {
        let mut extras: Vec<String> = Vec::new();
        for extra in self.extra_topping {
            let extra = one_of("extra_topping", Some(extra), &menu.extra_toppings)?;
            if !extras.contains(&extra) {
                extras.push(extra);
            }
        }
        Ok(Pizza {
            sauce: one_of("sauce", self.sauce, &menu.sauce)?,
            cheese: one_of("cheese", self.cheese, &menu.cheese)?,
            main_topping: one_of("main_topping", self.main_topping, &menu.main_topping)?,
            extra_toppings: extras,
        })
    }
}

/// The name the menu shows for a form field, without the original's colon.
pub fn label(field: &'static str) -> &'static str {
    match field {
        "sauce" => "Sauce",
        "cheese" => "Cheese",
        "main_topping" => "Main topping",
        "extra_topping" => "Extra toppings",
        other => other,
    }
}

fn one_of(
    field: &'static str,
    value: Option<String>,
    choices: &[String],
) -> Result<String, AppError> {
    let value = value.ok_or_else(|| AppError::BadField {
        field,
        message: "please choose one".into(),
    })?;
    if choices.contains(&value) {
        Ok(value)
    } else {
        Err(AppError::BadField {
            field,
            message: "that is not on the menu".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu() -> Menu {
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Menu {
            sauce: list(&["Tomato", "Pesto"]),
            cheese: list(&["Mozzarella"]),
            main_topping: list(&["Ham"]),
            extra_toppings: list(&["Basil", "Rocket"]),
        }
    }

    fn form(sauce: &str, extras: &[&str]) -> OrderForm {
        OrderForm {
            sauce: Some(sauce.into()),
            cheese: Some("Mozzarella".into()),
            main_topping: Some("Ham".into()),
            extra_topping: extras.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_menu_items_and_drops_repeated_extras() {
        let pizza = form("Pesto", &["Rocket", "Basil", "Rocket"])
            .validate(&menu())
            .expect("valid");
        assert_eq!(pizza.extra_toppings, ["Rocket", "Basil"]);
    }

    #[test]
    fn every_field_has_the_menus_name() {
        for field in ["sauce", "cheese", "main_topping", "extra_topping"] {
            assert_ne!(label(field), field);
        }
    }

    #[test]
    fn names_the_field_that_is_wrong() {
        let error = form("Ketchup", &[])
            .validate(&menu())
            .expect_err("not on the menu");
        assert!(matches!(error, AppError::BadField { field: "sauce", .. }));
        let error = form("Tomato", &["Gold leaf"])
            .validate(&menu())
            .expect_err("not on the menu");
        assert!(matches!(
            error,
            AppError::BadField {
                field: "extra_topping",
                ..
            }
        ));
        let error = OrderForm::default()
            .validate(&menu())
            .expect_err("nothing chosen");
        assert!(matches!(error, AppError::BadField { field: "sauce", .. }));
    }

    /// Menu items most of the time, so both answers are reached; anything else otherwise.
    fn sauce_or_anything() -> impl proptest::strategy::Strategy<Value = Option<String>> {
        use proptest::prelude::*;
        proptest::option::weighted(
            0.9,
            prop_oneof![3 => Just("Tomato".to_owned()), 3 => Just("Pesto".to_owned()), 1 => ".{0,12}"],
        )
    }

    /// Whatever a browser (or anyone else) sends, the form is either a pizza on the menu or a
    /// 400 that names a field; the inputs reach each of the three answers, and the test says so.
    #[test]
    fn any_form_is_a_menu_pizza_or_a_named_field_error() {
        use proptest::test_runner::{Config, TestRunner};
        use std::cell::RefCell;
        use std::collections::BTreeMap;

        let reached: RefCell<BTreeMap<&'static str, usize>> = RefCell::default();
        let forms = (
            sauce_or_anything(),
            proptest::collection::vec("(Basil|Rocket|Basil|Rocket|.{0,8})", 0..5),
        );
        let mut runner = TestRunner::new(Config::with_cases(512));
        let outcome = runner.run(&forms, |(sauce, extras)| {
            let submitted = OrderForm {
                sauce,
                cheese: Some("Mozzarella".into()),
                main_topping: Some("Ham".into()),
                extra_topping: extras,
            };
            let branch = match submitted.validate(&menu()) {
                Ok(pizza) => {
                    proptest::prop_assert!(menu().sauce.contains(&pizza.sauce));
                    for extra in &pizza.extra_toppings {
                        proptest::prop_assert!(menu().extra_toppings.contains(extra));
                    }
                    "a pizza"
                }
                Err(AppError::BadField { field, .. }) => {
                    proptest::prop_assert!(field == "sauce" || field == "extra_topping");
                    if field == "sauce" {
                        "sauce refused"
                    } else {
                        "extra refused"
                    }
                }
                Err(other) => {
                    proptest::prop_assert!(false, "unexpected {other:?}");
                    "unexpected"
                }
            };
            *reached.borrow_mut().entry(branch).or_default() += 1;
            Ok(())
        });
        if let Err(failure) = outcome {
            panic!("{failure}");
        }
        let reached = reached.into_inner();
        for branch in ["a pizza", "sauce refused", "extra refused"] {
            assert!(
                reached.contains_key(branch),
                "never reached '{branch}': {reached:?}"
            );
        }
    }
}
