//! Reading a config file and collecting every problem in it.

use std::fmt;
use std::path::{Path, PathBuf};

use super::Config;

/// One thing wrong with a config, at a path like `lines[0].plc.address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file, in TOML terms (`lines[0].scanners[1].address`); empty for the root.
    pub path: String,
    /// What is wrong and, where it helps, what would be right.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}: {source}", file.display())]
    Read {
        /// The config file, as given.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{}: not valid TOML: {message}", file.display())]
    Syntax {
        /// The config file, as given.
        file: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The file is TOML but the config is wrong.
    #[error("{}: {} problem(s):\n{}", file.display(), problems.len(), list(problems))]
    Invalid {
        /// The config file, as given.
        file: PathBuf,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Read and validate the config at `file`.
pub fn load(file: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|source| ConfigError::Read {
        file: file.to_owned(),
        source,
    })?;
    parse(&text, file)
}

/// Parse and validate config text; `file` names it in errors.
pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let mut value: toml::Value = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        file: file.to_owned(),
        message: e.to_string().trim().to_owned(),
    })?;
    let mut problems = Vec::new();
    // Each pass reports the first structural error (unknown key, wrong type), removes the
    // offending key and tries again, so one run names every such error, not just the first.
    for _ in 0..200 {
        match serde_path_to_error::deserialize::<_, Config>(value.clone()) {
            Ok(config) => {
                problems.extend(config.validate());
                if problems.is_empty() {
                    return Ok(config);
                }
                break;
            }
            Err(err) => {
                let path = display_path(err.path());
                // toml appends "in `table.key`"; the path says that better.
                let full = err.inner().to_string();
                let message = full
                    .split("\nin `")
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                let removable = !message.starts_with("missing field");
                problems.push(Problem::new(path, message));
                if !removable || !remove_at(&mut value, err.path()) {
                    break;
                }
            }
        }
    }
    Err(ConfigError::Invalid {
        file: file.to_owned(),
        problems,
    })
}

fn display_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    use std::fmt::Write as _;
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    out
}

/// Remove the value at `path` so the next pass can go on; false when there is nothing to remove.
fn remove_at(value: &mut toml::Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut cursor = value;
    for segment in parents {
        cursor = match (segment, cursor) {
            (Segment::Seq { index }, toml::Value::Array(items)) => match items.get_mut(*index) {
                Some(v) => v,
                None => return false,
            },
            (Segment::Map { key }, toml::Value::Table(table)) => {
                match table.get_mut(key.as_str()) {
                    Some(v) => v,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    match (last, cursor) {
        (Segment::Map { key }, toml::Value::Table(table)) => table.remove(key.as_str()).is_some(),
        (Segment::Seq { index }, toml::Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<Problem> {
        match parse(text, Path::new("test.toml")) {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    const GOOD: &str = r#"
        [site]
        code = "3501"
        [[lines]]
        id = "L1"
        plc.address = "127.0.0.1:502"
        [[lines.scanners]]
        name = "top"
        address = "127.0.0.1:2001"
    "#;

    #[test]
    fn a_good_config_loads() {
        let config = parse(GOOD, Path::new("good.toml")).unwrap();
        assert_eq!(config.lines[0].plc.poll_interval_ms, 10);
        assert_eq!(config.lines[0].diverter.exception_lane, 3);
    }

    #[test]
    fn every_unknown_key_is_named_with_its_path() {
        let text = GOOD.replace(
            "id = \"L1\"",
            "id = \"L1\"\nspeed = 3\nplc.colour = \"red\"",
        );
        let found = problems(&text);
        let paths: Vec<_> = found.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"lines[0].speed"), "{found:?}");
        assert!(paths.contains(&"lines[0].plc.colour"), "{found:?}");
    }

    #[test]
    fn wrong_type_and_validation_problems_are_reported_together() {
        let text = GOOD.replace(
            "plc.address = \"127.0.0.1:502\"",
            "plc.address = \"nowhere\"\nplc.unit_id = \"one\"",
        );
        let found = problems(&text);
        assert!(
            found
                .iter()
                .any(|p| p.path == "lines[0].plc.unit_id" && p.message.contains("invalid type")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|p| p.path == "lines[0].plc.address"),
            "{found:?}"
        );
    }

    #[test]
    fn syntax_errors_name_the_file() {
        let err = parse("[site\n", Path::new("broken.toml")).unwrap_err();
        assert!(
            err.to_string().starts_with("broken.toml: not valid TOML"),
            "{err}"
        );
    }
}
