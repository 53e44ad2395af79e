//! Opening the event log as run, agent and observe do: with rotation (`--events-max-bytes`,
//! `--events-keep`) and, with `--metrics ADDR`, the metrics observer and its endpoint.

use super::Metrics;
use super::server::{self, MetricsError};
use crate::cli::TelemetryArgs;
use crate::events::{EventObserver, EventSink, Rotation, SinkError, SinkOptions};
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("{0}")]
    Sink(#[from] SinkError),
    #[error("{0}")]
    Metrics(#[from] MetricsError),
    #[error("--events-max-bytes {0}: rotation needs --events FILE")]
    RotationWithoutFile(u64),
}

/// The sink for `events` (see [`EventSink::open`]), rotated and observed as `args` say. The
/// metrics address is bound before the log is opened: both fail before anything starts.
pub fn open_event_log(
    events: Option<&Path>,
    args: &TelemetryArgs,
) -> Result<Arc<EventSink>, TelemetryError> {
    let rotation = match (args.events_max_bytes, events) {
        (Some(max_bytes), Some(_)) => Some(Rotation {
            max_bytes,
            keep: args.events_keep,
        }),
        (Some(max_bytes), None) => return Err(TelemetryError::RotationWithoutFile(max_bytes)),
        (None, _) => None,
    };
    let listener = args.metrics.map(server::bind).transpose()?;
    let metrics = listener.as_ref().map(|_| Arc::new(Metrics::new()));
    let sink = Arc::new(EventSink::open_with(
        events,
        SinkOptions {
            rotation,
            observer: metrics.clone().map(|m| m as Arc<dyn EventObserver>),
        },
    )?);
    if let (Some(listener), Some(metrics)) = (listener, metrics) {
        server::spawn(listener, metrics, Arc::downgrade(&sink));
    }
    Ok(sink)
}
