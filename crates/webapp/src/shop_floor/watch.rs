//! Reads the shop floor from the broker while someone watches it, and only then: the first
//! watcher starts the readings, and they stop (their clients closed) once the last has gone, so
//! the idle shop asks the broker nothing. Every watcher shares the same readings, so ten open
//! pages cost the broker what one does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use std::path::PathBuf;

use common::domain::topics::Topic;
use common::domain::wiring::ServiceName;
use common::kafka::{DeadLetterTally, EventSink, GroupReader};
use common::runtime::logging::error_chain;
use common::settings::{Settings, Topics};
use store::Watchdog;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::model::{self, GroupReading, History, Reading, DRAWN};
use super::view::Floor;

/// How often the broker is asked while the floor is watched.
const EVERY: Duration = Duration::from_secs(2);

pub type Following = watch::Receiver<Option<Arc<Floor>>>;

#[derive(Clone)]
pub struct ShopFloor(Arc<Inner>);

impl std::fmt::Debug for ShopFloor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShopFloor")
            .field("groups", &self.0.groups)
            .field("stuck_status", &self.0.stuck_status)
            .finish_non_exhaustive()
    }
}

struct Inner {
    kafka: common::settings::KafkaSettings,
    topics: Topics,
    groups: BTreeMap<ServiceName, String>,
    client_ids: BTreeMap<ServiceName, String>,
    store: Arc<dyn Watchdog>,
    stuck_status: i64,
    /// Where this host's programs log, and so say where their metrics are.
    logs_dir: PathBuf,
    /// The web app's sender, which knows whether ksqlDB copies the statuses.
    events: Arc<dyn EventSink>,
    floor: watch::Sender<Option<Arc<Floor>>>,
    /// Whether readings are being taken; changed only with the lock held, together with the
    /// check for watchers, so a watcher never arrives between a last look and the stop.
    reading: Mutex<bool>,
    history: Mutex<History>,
    shutdown: CancellationToken,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The broker's clients, kept for as long as the floor is watched.
struct Readers {
    groups: Vec<(ServiceName, GroupReader)>,
    ends: GroupReader,
    dead_letters: DeadLetterTally,
}

impl ShopFloor {
    pub fn new(
        settings: &Settings,
        store: Arc<dyn Watchdog>,
        events: Arc<dyn EventSink>,
        logs_dir: PathBuf,
        shutdown: &CancellationToken,
    ) -> Self {
        let sys = &settings.sys;
        let groups = ServiceName::FLOW
            .into_iter()
            .filter_map(|s| sys.group_ids.of(s).map(|g| (s, g.to_owned())))
            .collect();
        let client_ids = ServiceName::FLOW
            .into_iter()
            .map(|s| (s, sys.client_ids.of(s).to_owned()))
            .collect();
        Self(Arc::new(Inner {
            kafka: settings.kafka.clone(),
            topics: sys.topics.clone(),
            groups,
            client_ids,
            store,
            stuck_status: sys.status.ids.stuck,
            logs_dir,
            events,
            floor: watch::Sender::new(None),
            reading: Mutex::new(false),
            history: Mutex::new(History::default()),
            shutdown: shutdown.clone(),
        }))
    }

    /// Follows the floor: the current figures, then each change. The broker is asked while any
    /// follower is kept.
    pub fn follow(&self) -> Following {
        let mut reading = locked(&self.0.reading);
        let following = self.0.floor.subscribe();
        if !*reading {
            *reading = true;
            tokio::spawn(self.clone().read_while_watched());
        }
        following
    }

    /// The floor drawn from what is known, with no figures before the first reading.
    pub fn now(&self) -> Floor {
        model::floor(&locked(&self.0.history), &self.0.topics, &self.0.groups)
    }

    async fn read_while_watched(self) {
        let inner = &self.0;
        let mut readers = Some(self.readers());
        loop {
            {
                let mut reading = locked(&inner.reading);
                if inner.floor.receiver_count() == 0 || inner.shutdown.is_cancelled() {
                    *reading = false;
                    return;
                }
            }
            let Some(taken) = readers.take() else { return };
            let asked = tokio::task::spawn_blocking(move || {
                let mut taken = taken;
                let reading = Self::read(&mut taken);
                (taken, reading)
            })
            .await;
            let Ok((back, mut reading)) = asked else {
                // A panic in the client: start again with fresh ones at the next round.
                *locked(&inner.reading) = false;
                return;
            };
            readers = Some(back);
            reading.stuck = inner
                .store
                .count_stuck(inner.stuck_status)
                .await
                .map_err(|e| error_chain(&e));
            reading.programs = super::programs::read_all(&inner.logs_dir).await;
            reading.ksqldb = Topic::STAGES
                .into_iter()
                .filter(|&stage| inner.events.left_to_ksqldb(stage))
                .collect();
            let floor = {
                let mut history = locked(&inner.history);
                history.push(reading);
                model::floor(&history, &inner.topics, &inner.groups)
            };
            inner.floor.send_if_modified(|shown| {
                let changed = shown.as_deref() != Some(&floor);
                if changed {
                    *shown = Some(Arc::new(floor));
                }
                changed
            });
            tokio::select! {
                () = inner.shutdown.cancelled() => {}
                () = tokio::time::sleep(EVERY) => {}
            }
        }
    }

    fn readers(&self) -> Readers {
        let inner = &self.0;
        let webapp = inner
            .client_ids
            .get(&ServiceName::Webapp)
            .cloned()
            .unwrap_or_default();
        let groups = inner
            .groups
            .iter()
            .map(|(&service, group)| {
                let topics = inner
                    .topics
                    .names(service.consumes())
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                let client_id = inner.client_ids.get(&service).cloned().unwrap_or_default();
                let reader = GroupReader::new(&inner.kafka, group, &client_id, "floor", topics);
                (service, reader)
            })
            .collect();
        let drawn = inner
            .topics
            .names(&DRAWN)
            .into_iter()
            .map(str::to_owned)
            .collect();
        // Its group is never joined, committed to or asked about: `ends` reads only watermarks.
        let ends_group = format!("{webapp}-floor");
        Readers {
            groups,
            ends: GroupReader::new(&inner.kafka, &ends_group, &webapp, "floor", drawn),
            dead_letters: DeadLetterTally::new(
                &inner.kafka,
                &inner.topics.dead_letter,
                &format!("{webapp}-floor"),
            ),
        }
    }

    /// One round of readings; blocks on the broker.
    fn read(readers: &mut Readers) -> Reading {
        let groups = readers
            .groups
            .iter()
            .map(|(service, reader)| {
                let reading = match reader.read() {
                    Ok(offsets) => GroupReading::Read(offsets),
                    Err(error) => GroupReading::Failed(error_chain(&error)),
                };
                (*service, reading)
            })
            .collect();
        Reading {
            at: Instant::now(),
            groups,
            ends: readers.ends.ends().ok(),
            dead_letters: readers
                .dead_letters
                .count()
                .cloned()
                .map_err(|e| error_chain(&e)),
            stuck: Ok(0),
            programs: BTreeMap::new(),
            ksqldb: Vec::new(),
        }
    }
}
