//! What delivery does when it hears of an order: a pure function of what the store holds and
//! the notice that just arrived. The store only loads and saves (saving only if nothing changed
//! since the load), so the same rules hold for any store and across instances.
//!
//! An order is heard of twice, in either order: the early warning (`pizza-ordered`, which names
//! the customer) and the baked notice (`pizza-baked`). Either may come again after a crash or a
//! rebalance. Whoever starts a delivery claims the order until a time by which the driver is
//! surely back; a notice that arrives while the claim holds waits for its outcome instead of
//! sending a second driver. If the claimant vanished, the claim lapses and the replayed notice
//! takes the order over, but the claimant may have delivered just before it vanished (its
//! `pizza-delivered` event acknowledged, its "delivered" not yet saved): so a delivery that
//! follows an earlier claim first looks for that event on the topic.

use store::DeliveryState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice<'a> {
    EarlyWarning { customer_id: &'a str },
    Baked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// The early warning was noted; the pizza is not baked yet.
    Remembered,
    /// Baked before the early warning arrived: tell the customer to bear with us.
    Pending,
    /// Go: the order is claimed for this delivery. `late` when the early warning came after the
    /// pizza was baked (the driver could not plan ahead, so the original doubles the time).
    /// `unless_delivered_since` (ms): an earlier delivery of this order started then and never
    /// said how it ended; if a `pizza-delivered` event of the order was written since, it ended
    /// at the door, and no second driver goes.
    Deliver {
        customer_id: String,
        late: bool,
        unless_delivered_since: Option<i64>,
    },
    /// A delivery of this order started elsewhere and its claim holds until `until` (ms): this
    /// notice waits for it to finish or lapse.
    Wait { until: i64 },
    /// A repeated notice, or the order was already delivered.
    Nothing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    /// What the store should hold afterwards; `None` leaves it as it is.
    pub save: Option<DeliveryState>,
    pub action: Action,
}

fn keep(action: Action) -> Decision {
    Decision { save: None, action }
}

/// Decides what to do at `now` (ms); a delivery started now is claimed for `claim_ms`.
pub(crate) fn decide(
    known: Option<&DeliveryState>,
    notice: Notice<'_>,
    now: i64,
    claim_ms: i64,
) -> Decision {
    let Some(known) = known else {
        return match notice {
            Notice::EarlyWarning { customer_id } => Decision {
                save: Some(DeliveryState {
                    customer_id: Some(customer_id.to_owned()),
                    ..DeliveryState::default()
                }),
                action: Action::Remembered,
            },
            Notice::Baked => Decision {
                save: Some(DeliveryState {
                    baked: true,
                    late: true,
                    ..DeliveryState::default()
                }),
                action: Action::Pending,
            },
        };
    };
    if known.delivered {
        return keep(Action::Nothing);
    }
    let earlier_claim = known.claimed_until;
    if let Some(until) = earlier_claim.filter(|until| *until > now) {
        // The notice that started the claimed delivery must not be committed before that
        // delivery is done; any other notice has nothing left to do.
        let started_it = match notice {
            Notice::EarlyWarning { .. } => known.late,
            Notice::Baked => !known.late,
        };
        return keep(if started_it {
            Action::Wait { until }
        } else {
            Action::Nothing
        });
    }
    let claim = |customer_id: String| Decision {
        save: Some(DeliveryState {
            customer_id: Some(customer_id.clone()),
            baked: true,
            late: known.late,
            claimed_until: Some(now + claim_ms),
            delivered: false,
        }),
        action: Action::Deliver {
            customer_id,
            late: known.late,
            unless_delivered_since: earlier_claim.map(|until| until - claim_ms),
        },
    };
    match (notice, &known.customer_id) {
        (Notice::EarlyWarning { customer_id }, _) if known.baked => claim(customer_id.to_owned()),
        (Notice::EarlyWarning { .. }, Some(_)) => keep(Action::Nothing),
        (Notice::EarlyWarning { customer_id }, None) => Decision {
            save: Some(DeliveryState {
                customer_id: Some(customer_id.to_owned()),
                ..known.clone()
            }),
            action: Action::Remembered,
        },
        (Notice::Baked, Some(customer_id)) => claim(customer_id.clone()),
        (Notice::Baked, None) => keep(Action::Nothing),
    }
}

/// The state once the driver is back.
pub(crate) fn delivered(claimed: &DeliveryState) -> DeliveryState {
    DeliveryState {
        claimed_until: None,
        delivered: true,
        ..claimed.clone()
    }
}

/// The state when a delivery is given up (shutdown, or its event not acknowledged): the claim
/// lapses now, so the replayed notice delivers at once wherever it lands, once it has made sure
/// the given-up delivery did not reach the door after all.
pub(crate) fn released(claimed: &DeliveryState, now: i64) -> DeliveryState {
    DeliveryState {
        claimed_until: Some(now),
        ..claimed.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000;
    const CLAIM: i64 = 60;
    const EARLY: Notice<'static> = Notice::EarlyWarning { customer_id: "c" };

    fn state(
        customer: bool,
        baked: bool,
        late: bool,
        claimed_until: Option<i64>,
        delivered: bool,
    ) -> DeliveryState {
        DeliveryState {
            customer_id: customer.then(|| "c".to_owned()),
            baked,
            late,
            claimed_until,
            delivered,
        }
    }

    fn deliver(late: bool) -> Action {
        Action::Deliver {
            customer_id: "c".into(),
            late,
            unless_delivered_since: None,
        }
    }

    /// A delivery that follows a claim which ended at `until` without saying how.
    fn deliver_after(late: bool, until: i64) -> Action {
        Action::Deliver {
            customer_id: "c".into(),
            late,
            unless_delivered_since: Some(until - CLAIM),
        }
    }

    /// A row of the table: what the store holds, the notice, what it must hold after, and the action.
    type Case = (
        &'static str,
        Option<DeliveryState>,
        Notice<'static>,
        Option<DeliveryState>,
        Action,
    );

    /// Every state an order can be in, each notice, and what must happen.
    #[test]
    fn every_state_and_notice() {
        let claimed = Some(NOW + 10);
        let lapsed = Some(NOW - 1);
        #[rustfmt::skip]
        let table: Vec<Case> = vec![
            ("early warning first", None, EARLY,
                Some(state(true, false, false, None, false)), Action::Remembered),
            ("baked first", None, Notice::Baked,
                Some(state(false, true, true, None, false)), Action::Pending),
            ("then baked", Some(state(true, false, false, None, false)), Notice::Baked,
                Some(state(true, true, false, Some(NOW + CLAIM), false)), deliver(false)),
            ("then the early warning, late", Some(state(false, true, true, None, false)), EARLY,
                Some(state(true, true, true, Some(NOW + CLAIM), false)), deliver(true)),
            ("early warning again", Some(state(true, false, false, None, false)), EARLY,
                None, Action::Nothing),
            ("baked again while pending", Some(state(false, true, true, None, false)), Notice::Baked,
                None, Action::Nothing),
            ("baked again while out", Some(state(true, true, false, claimed, false)), Notice::Baked,
                None, Action::Wait { until: NOW + 10 }),
            ("early warning while out", Some(state(true, true, false, claimed, false)), EARLY,
                None, Action::Nothing),
            ("early warning again while out late", Some(state(true, true, true, claimed, false)), EARLY,
                None, Action::Wait { until: NOW + 10 }),
            ("baked again while out late", Some(state(true, true, true, claimed, false)), Notice::Baked,
                None, Action::Nothing),
            ("replay after the driver's instance died", Some(state(true, true, false, lapsed, false)), Notice::Baked,
                Some(state(true, true, false, Some(NOW + CLAIM), false)), deliver_after(false, NOW - 1)),
            ("late replay after the driver's instance died", Some(state(true, true, true, lapsed, false)), EARLY,
                Some(state(true, true, true, Some(NOW + CLAIM), false)), deliver_after(true, NOW - 1)),
            ("replay after a shutdown released the claim", Some(state(true, true, false, Some(NOW), false)), Notice::Baked,
                Some(state(true, true, false, Some(NOW + CLAIM), false)), deliver_after(false, NOW)),
            ("delivered, baked again", Some(state(true, true, false, None, true)), Notice::Baked,
                None, Action::Nothing),
            ("delivered, early warning again", Some(state(true, true, true, None, true)), EARLY,
                None, Action::Nothing),
        ];
        for (case, known, notice, save, action) in table {
            let decision = decide(known.as_ref(), notice, NOW, CLAIM);
            assert_eq!(decision, Decision { save, action }, "{case}");
        }
    }

    /// Whatever order the notices come in, and however often, one driver goes out.
    #[test]
    fn any_interleaving_delivers_exactly_once() {
        let sequences: [&[Notice<'_>]; 6] = [
            &[EARLY, Notice::Baked],
            &[Notice::Baked, EARLY],
            &[EARLY, EARLY, Notice::Baked, Notice::Baked],
            &[Notice::Baked, Notice::Baked, EARLY, EARLY],
            &[Notice::Baked, EARLY, Notice::Baked, EARLY],
            &[EARLY, Notice::Baked, EARLY, Notice::Baked],
        ];
        for sequence in sequences {
            let mut known: Option<DeliveryState> = None;
            let mut drivers = 0;
            for notice in sequence {
                let decision = decide(known.as_ref(), *notice, NOW, CLAIM);
                if let Some(save) = decision.save {
                    known = Some(save);
                }
                if let Action::Deliver { .. } = decision.action {
                    drivers += 1;
                    known = known.as_ref().map(delivered);
                }
            }
            assert_eq!(drivers, 1, "{sequence:?}");
        }
    }

    #[test]
    fn a_released_claim_can_be_taken_at_once_after_a_look_at_the_topic() {
        let out = state(true, true, false, Some(NOW + CLAIM), false);
        let decision = decide(Some(&released(&out, NOW)), Notice::Baked, NOW, CLAIM);
        assert_eq!(decision.action, deliver_after(false, NOW));
    }
}
