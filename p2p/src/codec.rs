//! Length-prefixed frames for request-response, with a hard size limit.
//!
//! A frame is a 4-byte big-endian length and that many bytes. A length over the limit is
//! never read or allocated: a request says so ([`Frame::Oversized`]) so the node can log the
//! peer and refuse it, a response fails the stream. A peer cannot make a node hold more than
//! one limit-sized buffer per stream.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use zeroize::Zeroizing;

/// The one versioned protocol tessera nodes speak.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/tessera/mpc/2");

/// A request as read from a stream.
#[derive(PartialEq, Eq)]
pub enum Frame {
    /// A frame within the limit. Point-to-point payloads carry secret shares: wiped on drop.
    Bytes(Zeroizing<Vec<u8>>),
    /// A frame announcing this many bytes, over the limit; its body was not read.
    Oversized(usize),
}

impl std::fmt::Debug for Frame {
    // A frame may carry a secret share: print its size.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Frame::Bytes(b) => write!(f, "Frame({} bytes)", b.len()),
            Frame::Oversized(n) => write!(f, "Oversized({n} bytes)"),
        }
    }
}

/// The request-response codec: requests and responses are frames of at most `max` bytes.
#[derive(Debug, Clone, Copy)]
pub struct Frames {
    max: usize,
}

impl Frames {
    /// A codec refusing frames longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        Self { max }
    }

    async fn read<T: AsyncRead + Unpin + Send>(&self, io: &mut T) -> io::Result<Frame> {
        let mut len = [0u8; 4];
        io.read_exact(&mut len).await?;
        let len = u32::from_be_bytes(len) as usize;
        if len > self.max {
            return Ok(Frame::Oversized(len));
        }
        let mut buf = Zeroizing::new(vec![0u8; len]);
        io.read_exact(&mut buf).await?;
        Ok(Frame::Bytes(buf))
    }

    async fn write<T: AsyncWrite + Unpin + Send>(&self, io: &mut T, data: &[u8]) -> io::Result<()> {
        let len = u32::try_from(data.len())
            .ok()
            .filter(|l| *l as usize <= self.max)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "frame over the limit"))?;
        io.write_all(&len.to_be_bytes()).await?;
        io.write_all(data).await?;
        io.close().await
    }
}

impl libp2p::request_response::Codec for Frames {
    type Protocol = StreamProtocol;
    type Request = Frame;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Self::Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        self.read(io).await
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Self::Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        match self.read(io).await? {
            Frame::Bytes(b) => Ok(b.to_vec()),
            Frame::Oversized(len) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("response of {len} bytes over the {} byte limit", self.max),
            )),
        }
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Self::Request,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match req {
            Frame::Bytes(b) => self.write(io, &b).await,
            Frame::Oversized(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an oversized frame is never sent",
            )),
        }
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Self::Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        self.write(io, &res).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::Cursor;

    #[test]
    fn frames_round_trip_and_oversized_ones_fail_before_allocation() {
        futures::executor::block_on(async {
            let codec = Frames::new(8);
            let mut buf = Cursor::new(Vec::new());
            codec.write(&mut buf, b"12345678").await.unwrap();
            let mut rd = Cursor::new(buf.into_inner());
            assert_eq!(
                codec.read(&mut rd).await.unwrap(),
                Frame::Bytes(Zeroizing::new(b"12345678".to_vec()))
            );
            assert!(codec
                .write(&mut Cursor::new(Vec::new()), &[0; 9])
                .await
                .is_err());
            // A length field claiming 4 GiB is refused without reading further.
            let mut huge = Cursor::new(vec![0xff, 0xff, 0xff, 0xff]);
            assert_eq!(
                codec.read(&mut huge).await.unwrap(),
                Frame::Oversized(u32::MAX as usize)
            );
            let mut short = Cursor::new(vec![0, 0, 0, 4, 1]);
            assert!(codec.read(&mut short).await.is_err());
        });
    }
}
