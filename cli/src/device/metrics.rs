//! `tessera node --metrics ADDR` (design §6.6): Prometheus metrics over HTTP. The session
//! layer's counters and round latencies ([`tessera_p2p::metrics`]), and, read at each scrape,
//! the connected peers by transport and the proposals waiting for a person. One small GET
//! handler, bounded like the control socket: a few connections at once, the request within
//! 5 s, at most 8 KiB of it.

use std::sync::Arc;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{family::Family, gauge::Gauge},
    registry::Registry,
};
use tessera_p2p::{metrics::Metrics, Link};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};

use super::node::Runtime;

/// Scrapes served at once.
const MAX_SCRAPES: usize = 8;
/// The longest request read.
const MAX_REQUEST: usize = 8 << 10;

/// A transport.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabel {
    /// `tcp`, `quic` or `relayed`.
    transport: String,
}

/// The registry and the gauges set at each scrape.
pub struct Exporter {
    registry: Registry,
    peers: Family<TransportLabel, Gauge>,
    waiting: Gauge,
}

impl Exporter {
    /// A registry with the session layer's metrics (handed to the node) and the gauges.
    pub fn new() -> (Self, Arc<Metrics>) {
        let mut registry = Registry::default();
        let metrics = Metrics::registered(&mut registry);
        let peers = Family::<TransportLabel, Gauge>::default();
        let waiting = Gauge::default();
        registry.register(
            "tessera_connected_peers",
            "Peers connected now, by transport (a peer can have a relayed and a direct link)",
            peers.clone(),
        );
        registry.register(
            "tessera_proposals_waiting",
            "Proposals waiting for a person's decision",
            waiting.clone(),
        );
        (
            Self {
                registry,
                peers,
                waiting,
            },
            metrics,
        )
    }

    /// The metrics as OpenMetrics text, with the gauges read from `runtime` now.
    pub async fn scrape(&self, runtime: &Runtime) -> String {
        let links = runtime.node().links().await;
        for link in [Link::Tcp, Link::Quic, Link::Relayed] {
            let n = links.iter().filter(|(_, l)| l.contains(&link)).count();
            self.peers
                .get_or_create(&TransportLabel {
                    transport: link.name().into(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        self.waiting
            .set(i64::try_from(runtime.waiting().len()).unwrap_or(i64::MAX));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Serves `GET /metrics` on `listener` until the node stops.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, runtime: Arc<Runtime>) {
        let slots = Arc::new(Semaphore::new(MAX_SCRAPES));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of file descriptors, say: wait rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                continue;
            };
            let (me, runtime) = (self.clone(), runtime.clone());
            tokio::spawn(async move {
                let _ = tokio::time::timeout(
                    std::time::Duration::from_secs(5),
                    me.answer(stream, &runtime),
                )
                .await;
                drop(slot);
            });
        }
    }

    async fn answer(&self, mut stream: TcpStream, runtime: &Runtime) -> std::io::Result<()> {
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < MAX_REQUEST {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let (status, kind, body) = if request.starts_with(b"GET /metrics ") {
            (
                "200 OK",
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                self.scrape(runtime).await,
            )
        } else {
            ("404 Not Found", "text/plain", "GET /metrics\n".to_string())
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await
    }
}
