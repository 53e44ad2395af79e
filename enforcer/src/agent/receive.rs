//! Reading one connection: the state's JSON text and the fds that came with it by
//! SCM_RIGHTS, bounded in size, in fd count and in the number of messages.
//!
//! The spec lets a runtime split the state over several `sendmsg` calls (fds in the first),
//! and runc 1.1 does not close its end after sending, so the end of the state is where the
//! text becomes one complete JSON value, not the end of the stream. Every fd received is an
//! `OwnedFd` from the moment it arrives, so whatever path ends the connection closes it.

use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags};
use std::io::{self, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use tokio::io::Interest;
use tokio::net::UnixStream;

/// Largest state accepted. Kubernetes caps a pod's annotations at 256 KiB; the rest of a
/// state is small.
pub const MAX_STATE_BYTES: usize = 1 << 20;
/// Most fds accepted on one connection; the spec defines one (`seccompFd`).
pub const MAX_FDS: usize = 4;
/// Most messages the state may be split into.
pub const MAX_MESSAGES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("reading the connection: {0}")]
    Io(#[from] io::Error),
    #[error("the peer closed the connection before a complete state ({0} bytes received)")]
    Incomplete(usize),
    #[error("state larger than {MAX_STATE_BYTES} bytes")]
    TooLarge,
    #[error("more than {MAX_FDS} fds sent")]
    TooManyFds,
    #[error("state split over more than {MAX_MESSAGES} messages")]
    TooManyMessages,
}

/// One connection's payload.
#[derive(Debug, Default)]
pub struct Received {
    pub bytes: Vec<u8>,
    pub fds: Vec<OwnedFd>,
}

/// Whether `bytes` holds one whole JSON value yet. Text that can never become valid counts as
/// complete: parsing it then reports what is wrong.
fn complete(bytes: &[u8]) -> bool {
    match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        Ok(_) => true,
        Err(e) => !e.is_eof(),
    }
}

/// Reads until the state is complete, the peer closes, or a bound is passed.
pub async fn receive(stream: &UnixStream) -> Result<Received, ReceiveError> {
    let mut received = Received::default();
    for _ in 0..MAX_MESSAGES {
        let n = stream
            .async_io(Interest::READABLE, || recv_once(stream, &mut received))
            .await??;
        if n == 0 {
            return if received.bytes.is_empty() || !complete(&received.bytes) {
                Err(ReceiveError::Incomplete(received.bytes.len()))
            } else {
                Ok(received)
            };
        }
        if complete(&received.bytes) {
            return Ok(received);
        }
    }
    Err(ReceiveError::TooManyMessages)
}

/// One `recvmsg`: appends the data and the fds to `into`. The outer error is the socket's
/// (would-block is retried by tokio); the inner one is a broken bound.
fn recv_once(stream: &UnixStream, into: &mut Received) -> io::Result<Result<usize, ReceiveError>> {
    // One byte past the limit, so that a state of exactly the limit still fits.
    let room = MAX_STATE_BYTES + 1 - into.bytes.len();
    let mut buf = vec![0u8; room.min(64 * 1024)];
    let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let msg = rustix::net::recvmsg(
        stream,
        &mut [IoSliceMut::new(&mut buf)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC | RecvFlags::DONTWAIT,
    )?;
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = message {
            into.fds.extend(fds);
        }
    }
    // Truncated control data: the kernel dropped fds that did not fit.
    if msg.flags.contains(ReturnFlags::CTRUNC) || into.fds.len() > MAX_FDS {
        return Ok(Err(ReceiveError::TooManyFds));
    }
    into.bytes.extend_from_slice(&buf[..msg.bytes]);
    if into.bytes.len() > MAX_STATE_BYTES {
        return Ok(Err(ReceiveError::TooLarge));
    }
    Ok(Ok(msg.bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
    use std::io::IoSlice;
    use std::os::fd::AsFd;

    fn send(stream: &std::os::unix::net::UnixStream, data: &[u8], fds: &[OwnedFd]) {
        let borrowed: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
        let mut space = [MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(8))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        if !borrowed.is_empty() {
            assert!(control.push(SendAncillaryMessage::ScmRights(&borrowed)));
        }
        let n = rustix::net::sendmsg(
            stream,
            &[IoSlice::new(data)],
            &mut control,
            SendFlags::empty(),
        )
        .expect("sendmsg");
        assert_eq!(n, data.len());
    }

    fn pipe() -> OwnedFd {
        std::io::pipe().expect("pipe").0.into()
    }

    async fn pair() -> (std::os::unix::net::UnixStream, UnixStream) {
        let (a, b) = std::os::unix::net::UnixStream::pair().expect("socketpair");
        b.set_nonblocking(true).unwrap();
        (a, UnixStream::from_std(b).unwrap())
    }

    #[tokio::test]
    async fn a_state_split_over_messages_is_joined() {
        let (tx, rx) = pair().await;
        let task = tokio::spawn(async move { receive(&rx).await });
        send(&tx, br#"{"a": [1, "#, &[pipe()]);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        send(&tx, br#"2], "b""#, &[]);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        send(&tx, br#": {}}"#, &[]);
        // The peer keeps the connection open (runc 1.1 does): completion is by content.
        let got = task.await.unwrap().unwrap();
        assert_eq!(got.bytes, br#"{"a": [1, 2], "b": {}}"#);
        assert_eq!(got.fds.len(), 1);
        drop(tx);
    }

    #[tokio::test]
    async fn bounds_are_enforced() {
        let (tx, rx) = pair().await;
        drop(tx);
        assert!(matches!(
            receive(&rx).await,
            Err(ReceiveError::Incomplete(0))
        ));

        let (tx, rx) = pair().await;
        send(&tx, br#"{"a": "#, &[]);
        drop(tx);
        assert!(matches!(
            receive(&rx).await,
            Err(ReceiveError::Incomplete(6))
        ));

        let (tx, rx) = pair().await;
        let fds: Vec<OwnedFd> = (0..MAX_FDS + 1).map(|_| pipe()).collect();
        send(&tx, b"{}", &fds);
        assert!(matches!(receive(&rx).await, Err(ReceiveError::TooManyFds)));

        let (tx, rx) = pair().await;
        let writer = std::thread::spawn(move || {
            let big = vec![b' '; MAX_STATE_BYTES + 10];
            let _ = std::io::Write::write_all(&mut &tx, &big);
        });
        assert!(matches!(receive(&rx).await, Err(ReceiveError::TooLarge)));
        drop(rx);
        writer.join().unwrap();
    }
}
