//! Fuzz target: arbitrary bytes through encoding detection, transcoding, kind
//! detection and full record iteration. Must never panic, hang or allocate
//! without bound. Run with `cargo fuzz run parse_any` from `commerceml/`.

#![no_main]

use commerceml::{Item, Kind, RecordReader};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // The first byte picks a file-name hint so name-based tie-breaking is fuzzed too.
    let (hint, bytes) = match data.split_first() {
        Some((&b, rest)) => (Kind::ALL.get(usize::from(b) % 16).copied(), rest),
        None => (None, data),
    };
    let name = hint.map(|k| format!("{}/{}_1_2_x.xml", k.folder_name(), k.folder_name()));
    let mut reader = RecordReader::new(bytes, name.as_deref().map(Path::new));
    if reader.peek_kind().is_err() {
        return;
    }
    let _ = reader.header();
    for item in reader.by_ref() {
        match item {
            Ok(Item::Record(record)) => {
                let _ = format!("{record:?}");
            }
            Ok(Item::Warning(warning)) => {
                let _ = warning.to_string();
                let _ = warning.reason.text();
            }
            Err(error) => {
                let _ = error.to_string();
                break;
            }
        }
    }
    let _ = reader.bytes_read();
});
