//! Binding, serving and graceful shutdown of one HTTP/1.1 port (the A2I port or the S3 port).

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long open connections get to finish their requests at shutdown.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A running port. Dropping it stops accepting connections; [`ServerHandle::shutdown`]
/// also waits for open connections to drain.
#[derive(Debug)]
pub struct ServerHandle {
    name: &'static str,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// The bound address (with the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets open connections finish (up to a few seconds), and returns
    /// when the port is closed.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(err) = self.task.await {
            tracing::error!(server = self.name, error = %err, "server task ended abnormally");
        }
    }
}

/// Binds `addr`.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `listener` until shut down; `make_service` builds the service of each connection
/// from the peer address.
///
/// `nodelay` sets TCP_NODELAY on every accepted connection. It should stay on: with Nagle's
/// algorithm, a response written in two parts (head, then body) holds its second part back
/// until the client acknowledges the first, and a client that delays its ACKs (Linux does for
/// up to 40 ms) stalls every such response by that much. Off exists only to measure that.
pub fn serve<F, S, B>(
    name: &'static str,
    listener: TcpListener,
    nodelay: bool,
    make_service: F,
) -> std::io::Result<ServerHandle>
where
    F: Fn(SocketAddr) -> S + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, remote)) => {
                        if let Err(err) = stream.set_nodelay(nodelay) {
                            // The connection still works, only slower; not worth refusing it.
                            tracing::warn!(server = name, %remote, error = %err, "cannot set TCP_NODELAY");
                        }
                        let connection = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), make_service(remote));
                        let connection = graceful.watch(connection);
                        tokio::spawn(async move {
                            if let Err(err) = connection.await {
                                tracing::debug!(server = name, %remote, error = %err, "connection ended with an error");
                            }
                        });
                    }
                    Err(err) => {
                        // Usually running out of file descriptors; back off instead of spinning.
                        tracing::warn!(server = name, error = %err, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                // A send or the handle being dropped both end the loop.
                _ = stopped.changed() => break,
            }
        }
        drop(listener);
        tokio::select! {
            _ = graceful.shutdown() => tracing::debug!(server = name, "connections drained"),
            _ = tokio::time::sleep(DRAIN_TIMEOUT) => tracing::warn!(server = name, "connections still open after the drain timeout"),
        }
    });
    tracing::debug!(server = name, %addr, "serving");
    Ok(ServerHandle {
        name,
        addr,
        stop,
        task,
    })
}
