//! What the property tests of this crate share: event-like JSON, and a runner that says which
//! answers a property reached.

use std::cell::RefCell;
use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{TestCaseResult, TestRunner};
use serde_json::Value;

/// JSON built from the field names the events use, with values of any type, so the fuzzer
/// reaches the type checks instead of stopping at the first syntax error.
pub(crate) fn event_like() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    let fields = prop_oneof![
        Just("status"),
        Just("STATUS"),
        Just("timestamp"),
        Just("TIMESTAMP"),
        Just("baking_time"),
        Just("order"),
        Just("extra_toppings"),
        Just("customer_id"),
        Just("username"),
        Just("name"),
        Just("sauce"),
        Just("cheese"),
        Just("main_topping"),
    ];
    leaf.prop_recursive(3, 32, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(fields.clone().prop_map(str::to_owned), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// The branches a property reached: a property whose input never reaches one of its answers
/// proves nothing about that answer, so each test asserts every answer was reached.
#[derive(Default)]
pub(crate) struct Reached(RefCell<BTreeMap<&'static str, usize>>);

impl Reached {
    pub(crate) fn hit(&self, branch: &'static str) {
        *self.0.borrow_mut().entry(branch).or_default() += 1;
    }

    pub(crate) fn assert_each(&self, branches: &[&'static str]) {
        let reached = self.0.borrow();
        for branch in branches {
            assert!(
                reached.get(branch).copied().unwrap_or(0) > 0,
                "never reached '{branch}': {reached:?}"
            );
        }
    }
}

/// Runs `property` on `cases` values of `strategy`, as `proptest!` would (shrinking a failure).
pub(crate) fn check<S: Strategy>(
    cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> TestCaseResult,
) {
    let mut runner = TestRunner::new(ProptestConfig::with_cases(cases));
    if let Err(failure) = runner.run(&strategy, property) {
        panic!("{failure}");
    }
}
