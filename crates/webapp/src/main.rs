//! `webapp [KAFKA_CONFIG_FILE] [SYS_CONFIG_FILE]`: serves the shop on `[webapp] bind`.

use std::process::ExitCode;

use common::domain::wiring::ServiceName;

fn main() -> ExitCode {
    common::runtime::app::run(ServiceName::Webapp.as_str(), webapp::app::run)
}
