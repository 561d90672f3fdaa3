//! Serving on several threads, each with a single-threaded runtime of its own.
//!
//! One acceptor takes every connection from the listening socket and hands it to the
//! thread with the fewest open connections; that thread then runs each of the
//! connection's requests from start to end. Left to themselves, threads sharing one
//! socket do not share its connections: whichever is awake takes them all (seen in the
//! benchmark: one thread served all 32 connections while the other idled).

use axum::serve::Listener;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

type Handoff = (std::net::TcpStream, SocketAddr);

/// A server thread's end: the connections handed to it.
pub struct Handed {
    rx: mpsc::UnboundedReceiver<Handoff>,
    open: Arc<AtomicUsize>,
    local: SocketAddr,
}

/// The acceptor's end of one server thread.
struct Thread {
    tx: mpsc::UnboundedSender<Handoff>,
    open: Arc<AtomicUsize>,
}

/// Splits `listener` into `threads` listeners, and accepts for them on the current
/// runtime until every one of them is dropped.
pub fn dispatch(listener: TcpListener, threads: usize) -> io::Result<Vec<Handed>> {
    let local = listener.local_addr()?;
    let (ends, handed): (Vec<Thread>, Vec<Handed>) = (0..threads.max(1))
        .map(|_| {
            let (tx, rx) = mpsc::unbounded_channel();
            let open = Arc::new(AtomicUsize::new(0));
            (Thread { tx, open: open.clone() }, Handed { rx, open, local })
        })
        .unzip();
    tokio::spawn(accept_loop(listener, ends));
    Ok(handed)
}

async fn accept_loop(listener: TcpListener, mut threads: Vec<Thread>) {
    while !threads.is_empty() {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors, say: try again in a moment, as axum does.
                tracing::error!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "could not hand a connection over");
                continue;
            }
        };
        let least = threads
            .iter()
            .enumerate()
            .min_by_key(|(_, t)| t.open.load(Ordering::Relaxed))
            .map(|(i, _)| i)
            .unwrap_or(0);
        threads[least].open.fetch_add(1, Ordering::Relaxed);
        if let Err(mpsc::error::SendError(_)) = threads[least].tx.send((stream, peer)) {
            // That thread has stopped: its connection is dropped, the others go on.
            threads.swap_remove(least);
        }
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

impl Listener for Handed {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        loop {
            let Some((stream, peer)) = self.rx.recv().await else {
                // The acceptor has stopped (the process is ending): accept no more.
                return std::future::pending().await;
            };
            let open = self.open.clone();
            match stream.set_nonblocking(true).and_then(|()| TcpStream::from_std(stream)) {
                Ok(stream) => return (Counted { stream, open }, peer),
                Err(e) => {
                    open.fetch_sub(1, Ordering::Relaxed);
                    tracing::error!(error = %e, "could not take over a connection");
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// A connection, counted among its thread's open ones until it is dropped.
pub struct Counted {
    stream: TcpStream,
    open: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts `n` connections from `handed`, and keeps them open.
    async fn take(handed: &mut Handed, n: usize, kept: &mut Vec<Counted>) {
        for _ in 0..n {
            let (io, peer) = tokio::time::timeout(Duration::from_secs(5), handed.accept())
                .await
                .expect("a connection is handed over");
            assert!(peer.ip().is_loopback());
            kept.push(io);
        }
    }

    #[tokio::test]
    async fn each_connection_goes_to_the_thread_with_the_fewest_open() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut handed = dispatch(listener, 3).unwrap();
        assert!(handed.iter().all(|h| h.local_addr().unwrap() == addr));
        let mut clients = Vec::new();
        for _ in 0..6 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        // Six connections, three threads: two each, whatever order they are taken in.
        let mut kept: Vec<Vec<Counted>> = vec![Vec::new(), Vec::new(), Vec::new()];
        for (h, k) in handed.iter_mut().zip(kept.iter_mut()) {
            take(h, 2, k).await;
        }
        assert!(handed.iter().all(|h| h.open.load(Ordering::Relaxed) == 2));

        // The first thread's connections close: the next two are all its own.
        kept[0].clear();
        assert_eq!(handed[0].open.load(Ordering::Relaxed), 0);
        for _ in 0..2 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        take(&mut handed[0], 2, &mut kept[0]).await;
        assert!(handed.iter().all(|h| h.open.load(Ordering::Relaxed) == 2));
    }

    #[tokio::test]
    async fn a_handed_connection_carries_bytes_both_ways() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut handed = dispatch(listener, 2).unwrap();
        let mut client = TcpStream::connect(addr).await.unwrap();
        let mut kept = Vec::new();
        // The first connection goes to the first of two idle threads.
        take(&mut handed[0], 1, &mut kept).await;
        let server = &mut kept[0];
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        server.write_all(b"pong").await.unwrap();
        server.shutdown().await.unwrap();
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).await.unwrap();
        assert_eq!(reply, b"pong");
    }
}
