//! The read-ahead: each file is parsed on a thread of its own (`commerceml-reader`), so that
//! parsing (CPU) overlaps with the database round trips of the writer. Items travel in chunks of
//! [`CHUNK`] through a bounded channel ([`CHUNKS_AHEAD`] chunks ahead, a few MB at most).
use commerceml::{ExportFile, Item};

use super::ImportError;

/// Items per chunk the reader thread sends.
const CHUNK: usize = 256;
/// Chunks the reader thread may run ahead of the writer (bounds memory: a few MB).
const CHUNKS_AHEAD: usize = 8;

/// A run of items from the reader thread, and the reader's position after the last of them.
pub(super) struct Chunk {
    /// Items in file order.
    pub items: Vec<Item>,
    /// Bytes of the file read after the last of them.
    pub bytes_read: u64,
}

/// Parses `file` on a thread of its own, so that parsing (CPU) overlaps with the database
/// round trips of the writer: items come in chunks through a bounded channel, a parse error
/// comes last. Dropping the receiver stops the thread at its next send.
pub(super) fn read_ahead(
    file: &ExportFile,
) -> Result<tokio::sync::mpsc::Receiver<Result<Chunk, commerceml::Error>>, ImportError> {
    let (tx, rx) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
    let file = file.clone();
    let work = move || {
        // The file discovery checked, and no other: not a link, FIFO or file put in its place.
        let mut reader = match commerceml::open_export(&file) {
            Ok(r) => r,
            Err(e) => {
                tx.blocking_send(Err(e)).ok();
                return;
            }
        };
        let mut items = Vec::with_capacity(CHUNK);
        // Not a `for` loop: the reader's position is read between items.
        #[allow(clippy::while_let_on_iterator)]
        while let Some(item) = reader.next() {
            match item {
                Ok(item) => items.push(item),
                Err(e) => {
                    if !items.is_empty() {
                        let items = std::mem::take(&mut items);
                        let chunk = Chunk {
                            items,
                            bytes_read: reader.bytes_read(),
                        };
                        if tx.blocking_send(Ok(chunk)).is_err() {
                            return;
                        }
                    }
                    tx.blocking_send(Err(e)).ok();
                    return;
                }
            }
            if items.len() >= CHUNK {
                let chunk = Chunk {
                    items: std::mem::replace(&mut items, Vec::with_capacity(CHUNK)),
                    bytes_read: reader.bytes_read(),
                };
                if tx.blocking_send(Ok(chunk)).is_err() {
                    return;
                }
            }
        }
        if !items.is_empty() {
            let chunk = Chunk {
                items,
                bytes_read: reader.bytes_read(),
            };
            tx.blocking_send(Ok(chunk)).ok();
        }
    };
    std::thread::Builder::new()
        .name("commerceml-reader".to_owned())
        .spawn(work)
        .map_err(|e| ImportError::Thread(e.to_string()))?;
    Ok(rx)
}
