//! The MTProto "full" TCP transport (`len | seq | payload | crc32`), the one
//! grammers uses: both directions carry their own sequence counter and a CRC.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest frame accepted from a client (Telegram closes at about 1 MiB).
pub const MAX_FRAME: usize = 2 * 1024 * 1024;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The socket failed or was closed.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The length field is out of range or not a multiple of 4.
    #[error("bad frame length {0}")]
    BadLen(i32),
    /// The frame's sequence number is not the expected one.
    #[error("bad frame seq: expected {expected}, got {got}")]
    BadSeq {
        /// The counter value the server expected.
        expected: i32,
        /// The counter value the client sent.
        got: i32,
    },
    /// The CRC32 does not match the frame.
    #[error("bad frame crc")]
    BadCrc,
}

/// Reads full-transport frames, checking their sequence numbers and CRCs.
#[derive(Debug, Default)]
pub struct FrameReader {
    recv_seq: i32,
}

impl FrameReader {
    /// Reads the next frame and returns its payload.
    pub async fn read<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> Result<Vec<u8>, FrameError> {
        let mut head = [0u8; 8];
        r.read_exact(&mut head[..4]).await?;
        let len = i32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        if len < 12 || len as usize > MAX_FRAME || len % 4 != 0 {
            return Err(FrameError::BadLen(len));
        }
        r.read_exact(&mut head[4..]).await?;
        let mut rest = vec![0u8; len as usize - 8];
        r.read_exact(&mut rest).await?;
        let seq = i32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let crc_at = rest.len() - 4;
        let crc = u32::from_le_bytes([rest[crc_at], rest[crc_at + 1], rest[crc_at + 2], rest[crc_at + 3]]);
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&head);
        hasher.update(&rest[..crc_at]);
        if hasher.finalize() != crc {
            return Err(FrameError::BadCrc);
        }
        if seq != self.recv_seq {
            return Err(FrameError::BadSeq { expected: self.recv_seq, got: seq });
        }
        self.recv_seq += 1;
        rest.truncate(crc_at);
        Ok(rest)
    }
}

/// Packs payloads into full-transport frames.
#[derive(Debug, Default)]
pub struct FrameWriter {
    send_seq: i32,
}

impl FrameWriter {
    /// Returns the bytes of one frame carrying `payload`.
    pub fn pack(&mut self, payload: &[u8]) -> Vec<u8> {
        let len = (payload.len() + 12) as i32;
        let mut out = Vec::with_capacity(len as usize);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.send_seq.to_le_bytes());
        out.extend_from_slice(payload);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        self.send_seq += 1;
        out
    }

    /// Packs and writes one frame.
    pub async fn write<W: AsyncWrite + Unpin>(&mut self, w: &mut W, payload: &[u8]) -> std::io::Result<()> {
        let frame = self.pack(payload);
        w.write_all(&frame).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn packed_frames_read_back_in_order() {
        let mut w = FrameWriter::default();
        let mut bytes = w.pack(&[1, 2, 3, 4]);
        bytes.extend(w.pack(&[5, 6, 7, 8]));
        let mut r = FrameReader::default();
        let mut cur = std::io::Cursor::new(bytes);
        assert_eq!(r.read(&mut cur).await.expect("frame 0"), vec![1, 2, 3, 4]);
        assert_eq!(r.read(&mut cur).await.expect("frame 1"), vec![5, 6, 7, 8]);
    }

    #[tokio::test]
    async fn corrupted_crc_is_rejected() {
        let mut bytes = FrameWriter::default().pack(&[1, 2, 3, 4]);
        bytes[9] ^= 0xff;
        let mut cur = std::io::Cursor::new(bytes);
        let err = FrameReader::default().read(&mut cur).await;
        assert!(matches!(err, Err(FrameError::BadCrc)));
    }
}
