//! Fixtures the app's unit tests share.

use wire::{SessionRow, SessionStatus};

/// A catalog session of run `r`, started from the command line, nothing processed yet.
pub(crate) fn session_row(
    id: i64,
    status: SessionStatus,
    started_at: &str,
    finished_at: Option<&str>,
) -> SessionRow {
    SessionRow {
        id,
        run_id: "r".into(),
        import_type: wire::ImportKind::Catalog,
        status,
        started_at: started_at.into(),
        finished_at: finished_at.map(Into::into),
        processed: 0,
        total: 0,
        error_message: None,
        triggered_by: "cli".into(),
        mode: wire::RunMode::Import,
        origin: wire::RunOrigin::Cli,
    }
}
