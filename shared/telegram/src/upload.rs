//! Files sent to Telegram are read from the blob store while grammers
//! uploads them: a [`BlobReader`] seen as the `AsyncRead` grammers takes.

use futures::stream;
use std::io::Cursor;
use tgdesk_core::ports::BlobReader;
use tokio::io::AsyncRead;
use tokio_util::io::StreamReader;

/// Reads `blob` chunk by chunk; a failed read ends the upload with an
/// `io::Error` carrying the store's message.
pub(crate) fn async_read(blob: Box<dyn BlobReader>) -> impl AsyncRead + Unpin + Send {
    let chunks = stream::unfold(Some(blob), |blob| async move {
        let mut blob = blob?;
        match blob.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(Cursor::new(chunk)), Some(blob))),
            Ok(None) => None,
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
        }
    });
    StreamReader::new(Box::pin(chunks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tgdesk_core::ports::{MemoryBlob, MAX_BLOB_CHUNK};
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn a_blob_of_several_chunks_reads_back_whole() {
        let bytes: Vec<u8> = (0..MAX_BLOB_CHUNK * 2 + 77).map(|i| (i % 251) as u8).collect();
        let mut reader = async_read(Box::new(MemoryBlob::new(bytes.clone(), "application/pdf")));
        let mut read = Vec::new();
        reader.read_to_end(&mut read).await.unwrap();
        assert!(read == bytes, "read {} of {} bytes", read.len(), bytes.len());
    }
}
