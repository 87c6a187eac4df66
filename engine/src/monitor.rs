use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};

use crate::entity::{import_runs, import_sessions};
use crate::kinds::{ImportKind, SessionStatus};

/// What the monitor's filters ask for; every field is optional.
#[derive(Clone, Debug, Default)]
pub struct SessionFilter {
    pub status: Option<SessionStatus>,
    pub kind: Option<ImportKind>,
    /// Sessions started at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Sessions started before this instant.
    pub until: Option<DateTime<Utc>>,
}

/// One page of sessions, newest first, and how many match in all.
pub async fn list_sessions(
    db: &DatabaseConnection,
    filter: &SessionFilter,
    page: u64,
    per_page: u64,
) -> Result<(Vec<import_sessions::Model>, u64), DbErr> {
    use import_sessions::Column;
    let mut q = import_sessions::Entity::find();
    if let Some(s) = filter.status {
        q = q.filter(Column::Status.eq(s.as_str()));
    }
    if let Some(k) = filter.kind {
        q = q.filter(Column::ImportType.eq(k.as_str()));
    }
    if let Some(from) = filter.from {
        q = q.filter(Column::StartedAt.gte(from));
    }
    if let Some(until) = filter.until {
        q = q.filter(Column::StartedAt.lt(until));
    }
    let paginator = q
        .order_by_desc(Column::StartedAt)
        .order_by_desc(Column::Id)
        .paginate(db, per_page.clamp(1, 500));
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page).await?;
    Ok((rows, total))
}

/// One session by id.
pub async fn session(
    db: &DatabaseConnection,
    id: i64,
) -> Result<Option<import_sessions::Model>, DbErr> {
    import_sessions::Entity::find_by_id(id).one(db).await
}

/// One run by id.
pub async fn run(db: &DatabaseConnection, id: &str) -> Result<Option<import_runs::Model>, DbErr> {
    import_runs::Entity::find_by_id(id.to_owned()).one(db).await
}
