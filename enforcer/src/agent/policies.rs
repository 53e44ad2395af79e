//! The policies the agent can give a container: its fallback (`--policy` or the built-in
//! one), loaded at start, and the ones containers name, loaded when they connect (so a new
//! or changed file in `--policy-dir` needs no restart).

use super::metadata::PolicyChoice;
use crate::policy::{self, Policy, PolicyError};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("policy {0:?} asked for, but the agent has no --policy-dir")]
    NoPolicyDir(String),
    #[error("{0}")]
    Policy(#[from] PolicyError),
}

/// A policy and how events and logs name where it came from.
#[derive(Clone)]
pub struct Chosen {
    pub policy: Arc<Policy>,
    pub source: String,
}

pub struct Policies {
    fallback: Chosen,
    dir: Option<PathBuf>,
}

impl Policies {
    /// Loads the fallback now: a bad `--policy` stops the agent before it serves anyone.
    pub fn new(fallback: Option<PathBuf>, dir: Option<PathBuf>) -> Result<Self, PolicyError> {
        let fallback = match fallback {
            Some(path) => Chosen {
                policy: Arc::new(policy::load_file(&path)?),
                source: path.display().to_string(),
            },
            None => Chosen {
                policy: Arc::new(policy::builtin()),
                source: "builtin".into(),
            },
        };
        Ok(Self { fallback, dir })
    }

    pub fn choose(&self, choice: &PolicyChoice) -> Result<Chosen, SelectError> {
        let path = match choice {
            PolicyChoice::Default => return Ok(self.fallback.clone()),
            PolicyChoice::Named(name) => self
                .dir
                .as_ref()
                .ok_or_else(|| SelectError::NoPolicyDir(name.clone()))?
                .join(format!("{name}.json")),
            PolicyChoice::File(path) => path.clone(),
        };
        Ok(Chosen {
            policy: Arc::new(policy::load_file(&path)?),
            source: path.display().to_string(),
        })
    }
}
