//! The /metrics and /healthz endpoints: a small HTTP/1 server (hyper) on a thread and runtime
//! of its own, so that a slow scraper never shares a runtime with the supervisor.

use super::Metrics;
use crate::events::EventSink;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Weak};

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("--metrics {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Binds ADDR now, so that a taken or invalid address fails before any workload starts.
pub fn bind(addr: SocketAddr) -> Result<TcpListener, MetricsError> {
    let err = |source| MetricsError::Bind { addr, source };
    let listener = TcpListener::bind(addr).map_err(err)?;
    listener.set_nonblocking(true).map_err(err)?;
    Ok(listener)
}

/// Serves GET /metrics and /healthz on `listener` until the process exits. The queue depth is
/// read from the sink at each scrape (none once the sink is gone).
pub fn spawn(listener: TcpListener, metrics: Arc<Metrics>, sink: Weak<EventSink>) {
    let spawned = std::thread::Builder::new()
        .name("metrics-http".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
            {
                Ok(r) => r,
                Err(e) => return tracing::error!("metrics server: {e}"),
            };
            runtime.block_on(accept_loop(listener, metrics, sink));
        });
    if let Err(e) = spawned {
        tracing::error!("metrics server thread: {e}");
    }
}

async fn accept_loop(listener: TcpListener, metrics: Arc<Metrics>, sink: Weak<EventSink>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => return tracing::error!("metrics server: {e}"),
    };
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::debug!("metrics server accept: {e}");
                continue;
            }
        };
        let (metrics, sink) = (metrics.clone(), sink.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let response = respond(&req, &metrics, &sink);
                async move { Ok::<_, Infallible>(response) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!("metrics connection: {e}");
            }
        });
    }
}

const TEXT: &str = "text/plain; charset=utf-8";

fn respond(
    req: &Request<Incoming>,
    metrics: &Metrics,
    sink: &Weak<EventSink>,
) -> Response<Full<Bytes>> {
    let reply = |status, content_type, body: Vec<u8>| {
        Response::builder()
            .status(status)
            .header(hyper::header::CONTENT_TYPE, content_type)
            .body(Full::new(Bytes::from(body)))
            .expect("valid response")
    };
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => {
            let depth = sink.upgrade().map_or(0, |s| s.queue_depth());
            reply(
                StatusCode::OK,
                prometheus::TEXT_FORMAT,
                metrics.encode(depth),
            )
        }
        // For probes: the process answers and its event log is still open (a sink whose
        // owner dropped it is a process on its way out).
        (&Method::GET, "/healthz") => match sink.upgrade() {
            Some(_) => reply(StatusCode::OK, TEXT, b"ok\n".to_vec()),
            None => reply(
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                b"enforcer: the event log is closed\n".to_vec(),
            ),
        },
        _ => reply(
            StatusCode::NOT_FOUND,
            TEXT,
            b"enforcer: metrics are at /metrics, health at /healthz\n".to_vec(),
        ),
    }
}
