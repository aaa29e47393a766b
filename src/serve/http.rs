//! The HTTP server: hyper (HTTP/1.1) on a single-threaded tokio runtime of its own thread,
//! over TLS (rustls) or, where configured explicitly, plain TCP.
//!
//! `/healthz` (the process answers) and `/readyz` (the capture runs and the pipeline reported
//! lately, read from the [`Heartbeat`]) need no credentials and never reach the output thread;
//! everything else needs the bearer token when one is configured, and a client certificate
//! signed by the configured CA when there is one (checked in the TLS handshake). Requests go to
//! the output thread as [`Query::Ask`], at most [`IN_FLIGHT`] per listener (more get 503 at
//! once); a pipeline that does not answer within [`ANSWER_WAIT`] gets 503. Connections are
//! capped, and slow or idle clients are cut off, so the server's memory stays bounded whatever
//! clients do.

use crate::serve::routes::{self, Answer, Request};
use crate::serve::{Heartbeat, QUERY_QUEUE, Queries, Query};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::mpsc::TrySendError;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

/// How long a request waits for the output thread.
pub const ANSWER_WAIT: Duration = Duration::from_secs(5);
/// Connections served at once per listener; more are closed on accept.
const MAX_CONNECTIONS: usize = 32;
/// Requests per listener waiting for the output thread at once: two listeners together fill
/// half the query queue, so a reload always finds room.
pub const IN_FLIGHT: usize = QUERY_QUEUE / 4;
/// Time allowed for a TLS handshake.
const HANDSHAKE_WAIT: Duration = Duration::from_secs(10);
/// Time allowed for a request's head to arrive.
const HEADER_WAIT: Duration = Duration::from_secs(10);
/// Longest a connection stays open, keep-alive and a slow reader included.
const CONNECTION_LIFE: Duration = Duration::from_secs(60);

/// One listening socket and how it is served.
pub struct Endpoint {
    /// The bound socket (bound before privileges are dropped).
    pub listener: std::net::TcpListener,
    /// TLS settings; `None` serves plain HTTP.
    pub tls: Option<Arc<ServerConfig>>,
    /// The bearer token clients must send, if any.
    pub token: Option<String>,
    /// Serve `/metrics` (and the health checks) only.
    pub metrics_only: bool,
}

/// What each connection of an endpoint shares.
struct Shared {
    token: Option<String>,
    metrics_only: bool,
    queries: Queries,
    heartbeat: Arc<Heartbeat>,
    in_flight: Semaphore,
}

/// Compares in time that depends on the length only, so a guess learns nothing from timing.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Whether the request carries the token (or none is needed).
fn authorized(req: &hyper::Request<Incoming>, token: Option<&str>) -> bool {
    let Some(token) = token else {
        return true;
    };
    req.headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| same_secret(given.trim().as_bytes(), token.as_bytes()))
}

/// Sends a request to the output thread and waits for its answer.
async fn ask(shared: &Shared, request: Request) -> Answer {
    let Ok(_slot) = shared.in_flight.try_acquire() else {
        return Answer::error(503, "too many requests waiting");
    };
    let (reply, answer) = tokio::sync::oneshot::channel();
    match shared.queries.try_send(Query::Ask(request, reply)) {
        Ok(()) => {}
        Err(TrySendError::Full(_)) => return Answer::error(503, "too many requests waiting"),
        Err(TrySendError::Disconnected(_)) => return Answer::error(503, "the sensor is stopping"),
    }
    match tokio::time::timeout(ANSWER_WAIT, answer).await {
        Ok(Ok(a)) => a,
        _ => Answer::error(503, "the pipeline did not answer in time"),
    }
}

async fn respond(
    req: hyper::Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path();
    let query = req.uri().query().unwrap_or("");
    let method = req.method().as_str();
    let mut challenge = false;
    let answer = if path == "/healthz" {
        Answer::text(200, "ok\n")
    } else if path == "/readyz" {
        if shared.heartbeat.ready() {
            Answer::text(200, "ready\n")
        } else {
            Answer::text(
                503,
                "not capturing, or the pipeline has not reported lately\n",
            )
        }
    } else if !authorized(&req, shared.token.as_deref()) {
        challenge = true;
        Answer::error(401, "a valid bearer token is needed")
    } else if shared.metrics_only && path != "/metrics" {
        Answer::error(404, "this listener serves /metrics only")
    } else {
        match routes::parse(method, path, query) {
            Ok(r) => ask(&shared, r).await,
            Err(a) => a,
        }
    };
    let mut response = hyper::Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() =
        hyper::StatusCode::from_u16(answer.status).unwrap_or(hyper::StatusCode::OK);
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(answer.content_type),
    );
    headers.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-store"),
    );
    if challenge {
        headers.insert(
            hyper::header::WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static("Bearer realm=\"wiretally\""),
        );
    }
    Ok(response)
}

/// Serves one connection until it closes, errs or outlives [`CONNECTION_LIFE`].
async fn connection<I>(io: I, shared: Arc<Shared>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| respond(req, Arc::clone(&shared)));
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_WAIT)
        .serve_connection(TokioIo::new(io), service);
    // A client that hangs up, stalls or speaks something else only ends its own connection.
    let _ = tokio::time::timeout(CONNECTION_LIFE, conn).await;
}

/// Accepts connections on one endpoint for ever.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    tls: Option<TlsAcceptor>,
    shared: Arc<Shared>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors or similar: wait rather than spin.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue;
        };
        let shared = Arc::clone(&shared);
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => connection(stream, shared).await,
                Some(acceptor) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(HANDSHAKE_WAIT, acceptor.accept(stream)).await
                    {
                        connection(stream, shared).await;
                    }
                }
            }
        });
    }
}

/// Starts serving the endpoints on a thread of their own; runs until the process ends.
pub fn spawn(
    endpoints: Vec<Endpoint>,
    queries: Queries,
    heartbeat: Arc<Heartbeat>,
) -> std::io::Result<()> {
    if endpoints.is_empty() {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    let mut listeners = Vec::new();
    for ep in endpoints {
        ep.listener.set_nonblocking(true)?;
        listeners.push((
            ep.listener,
            ep.tls,
            Arc::new(Shared {
                token: ep.token,
                metrics_only: ep.metrics_only,
                queries: queries.clone(),
                heartbeat: Arc::clone(&heartbeat),
                in_flight: Semaphore::new(IN_FLIGHT),
            }),
        ));
    }
    std::thread::Builder::new()
        .name("wiretally-http".into())
        .spawn(move || {
            runtime.block_on(async move {
                let mut tasks = Vec::new();
                for (listener, tls, shared) in listeners {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => tasks.push(tokio::spawn(accept_loop(
                            l,
                            tls.map(TlsAcceptor::from),
                            shared,
                        ))),
                        Err(e) => eprintln!("wiretally: cannot serve a listener: {e}"),
                    }
                }
                for t in tasks {
                    let _ = t.await;
                }
            });
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cres", b"s3cret"));
        assert!(!same_secret(b"s3cre", b"s3cret"));
        assert!(!same_secret(b"", b"s3cret"));
    }
}
