//! Length-prefixed frames for request-response, with a hard size limit.
//!
//! A frame is a 4-byte big-endian length and that many bytes. A length over the limit fails
//! the stream before anything is allocated, so a peer cannot make a node hold more than one
//! limit-sized buffer per stream.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use zeroize::Zeroizing;

/// The one versioned protocol tessera nodes speak.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/tessera/mpc/1");

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

    async fn read<T: AsyncRead + Unpin + Send>(&self, io: &mut T) -> io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        io.read_exact(&mut len).await?;
        let len = u32::from_be_bytes(len) as usize;
        if len > self.max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("frame of {len} bytes over the {} byte limit", self.max),
            ));
        }
        let mut buf = vec![0u8; len];
        io.read_exact(&mut buf).await?;
        Ok(buf)
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
    type Request = Zeroizing<Vec<u8>>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Self::Request>
    where
        T: AsyncRead + Unpin + Send,
    {
        self.read(io).await.map(Zeroizing::new)
    }

    async fn read_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Self::Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        self.read(io).await
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
        self.write(io, &req).await
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
            assert_eq!(codec.read(&mut rd).await.unwrap(), b"12345678");
            assert!(codec
                .write(&mut Cursor::new(Vec::new()), &[0; 9])
                .await
                .is_err());
            // A length field claiming 4 GiB is refused without reading further.
            let mut huge = Cursor::new(vec![0xff, 0xff, 0xff, 0xff]);
            let err = codec.read(&mut huge).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            let mut short = Cursor::new(vec![0, 0, 0, 4, 1]);
            assert!(codec.read(&mut short).await.is_err());
        });
    }
}
