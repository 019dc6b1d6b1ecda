//! Command-line arguments of every binary: `[KAFKA_CONFIG_FILE] [SYS_CONFIG_FILE]`, as the
//! original's `python3 msvc_assemble.py localhost.ini default.ini`.

use std::path::{Path, PathBuf};

pub const USAGE_ARGS: &str =
    "[KAFKA_CONFIG_FILE (default localhost.ini)] [SYS_CONFIG_FILE (default default.ini)]";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPaths {
    pub kafka: PathBuf,
    pub sys: PathBuf,
}

/// A bare file name is looked up under its folder (`config_kafka/`, `config_sys/`); anything that
/// already exists as given, or contains a path separator, is used as it is.
pub fn resolve_config_file(arg: &str, folder: &str) -> PathBuf {
    let given = Path::new(arg);
    if given.exists() || arg.contains(std::path::MAIN_SEPARATOR) {
        given.to_path_buf()
    } else {
        Path::new(folder).join(arg)
    }
}

/// What a binary was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Run(ConfigPaths),
    Help,
}

/// Arguments a binary cannot make sense of; the message says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

/// Reads the two optional positional arguments; anything else is a usage error.
pub fn config_paths(args: &[String]) -> Result<Invocation, UsageError> {
    match args {
        [flag, ..] if flag == "-h" || flag == "--help" => Ok(Invocation::Help),
        [flag, ..] if flag.starts_with('-') => Err(UsageError(format!("unknown option {flag}"))),
        [_, _, _, ..] => Err(UsageError("at most two arguments".to_owned())),
        _ => Ok(Invocation::Run(ConfigPaths {
            kafka: resolve_config_file(
                args.first().map_or("localhost.ini", String::as_str),
                "config_kafka",
            ),
            sys: resolve_config_file(
                args.get(1).map_or("default.ini", String::as_str),
                "config_sys",
            ),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    fn paths(args: &[&str]) -> ConfigPaths {
        match config_paths(&strings(args)) {
            Ok(Invocation::Run(paths)) => paths,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    #[test]
    fn defaults_resolve_under_the_config_folders() {
        let paths = paths(&[]);
        assert_eq!(paths.kafka, Path::new("config_kafka/localhost.ini"));
        assert_eq!(paths.sys, Path::new("config_sys/default.ini"));
    }

    #[test]
    fn paths_are_used_as_given() {
        let paths = paths(&["/etc/pizza/cloud.ini", "./sys.ini"]);
        assert_eq!(paths.kafka, Path::new("/etc/pizza/cloud.ini"));
        assert_eq!(paths.sys, Path::new("./sys.ini"));
    }

    #[test]
    fn too_many_arguments_is_a_usage_error() {
        assert!(config_paths(&strings(&["a", "b", "c"])).is_err());
        assert!(config_paths(&strings(&["--verbose"])).is_err());
    }

    #[test]
    fn help_is_a_request_not_an_error() {
        assert_eq!(config_paths(&strings(&["--help"])), Ok(Invocation::Help));
        assert_eq!(config_paths(&strings(&["-h", "x"])), Ok(Invocation::Help));
    }
}
