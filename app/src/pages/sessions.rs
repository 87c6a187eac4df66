use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use wire::{ImportKind, SessionRow};

use crate::api::list_sessions;
use crate::format::{datetime_text, duration_text, percent, seconds_between, thousands};
use crate::live;
use crate::shell::{Shell, report_error};

/// Live progress of running sessions, by session id: (processed, total).
pub type LiveProgress = RwSignal<std::collections::HashMap<i64, (u64, u64)>>;

/// The action id of «🚀 Запустить импорт из 1С» (as in the Django admin's actions).
pub const TRIGGER_ACTION: &str = "trigger_selective_import";

/// The monitor's URL for a set of filters and a page (empty values left out).
pub fn monitor_href(status: &str, kind: &str, date: &str, page: u64) -> String {
    let mut parts = Vec::new();
    for (k, v) in [("status", status), ("kind", kind), ("date", date)] {
        if !v.is_empty() {
            parts.push(format!("{k}={v}"));
        }
    }
    if page > 0 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() {
        "/".to_owned()
    } else {
        format!("/?{}", parts.join("&"))
    }
}

/// «Длительность» of a row: elapsed time, or «В процессе...» while it runs.
pub fn row_duration(row: &SessionRow) -> String {
    match &row.finished_at {
        Some(end) => seconds_between(&row.started_at, end)
            .map(duration_text)
            .unwrap_or_default(),
        None if row.is_running() => "В процессе...".into(),
        None => "-".into(),
    }
}

/// «Сессии импорта»: every import session, newest first, with filters and pages. Read-only.
#[component]
pub fn SessionsPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |k: &str| query.with(|q| q.get(k).unwrap_or_default());
    let page = move || param("page").parse::<u64>().unwrap_or(0);
    // Bumped when a run's sessions change (start, end): the page reloads its rows.
    let refresh = RwSignal::new(0u32);
    let live: LiveProgress = RwSignal::new(Default::default());
    let shape = StoredValue::new(Vec::<(i64, String)>::new());
    let stream = live::subscribe("/events", false, move |state| {
        let mut now = Vec::new();
        live.update(|m| {
            for k in &state.kinds {
                if let Some(id) = k.session_id {
                    now.push((id, format!("{:?}", k.phase)));
                    m.insert(id, (k.processed, k.total));
                }
            }
        });
        let changed = shape.with_value(|old| now.iter().any(|p| !old.contains(p)));
        if changed {
            shape.update_value(|old| old.extend(now));
            refresh.update(|n| *n += 1);
        }
    });
    StoredValue::new_local(stream);
    let data = LocalResource::new(move || {
        refresh.track();
        let (status, kind, date, page) = (param("status"), param("kind"), param("date"), page());
        let opt = |s: String| (!s.is_empty()).then_some(s);
        list_sessions(opt(status), opt(kind), opt(date), page)
    });
    Effect::new(move |_| {
        if let Some(Err(e)) = data.get() {
            report_error(&e);
        }
    });
    let navigate = use_navigate();
    let go = move |status: String, kind: String, date: String| {
        navigate(&monitor_href(&status, &kind, &date, 0), Default::default());
    };
    let (go1, go2, go3) = (go.clone(), go.clone(), go);
    let action = RwSignal::new(String::new());
    let navigate_action = use_navigate();

    view! {
        <Shell title="Сессии импорта".to_owned()>
            <div class="object-tools">
                <A href="/import" attr:class="button primary" attr:data-action=TRIGGER_ACTION>"🚀 Запустить импорт из 1С"</A>
            </div>
            <form class="actions" aria-label="Действия" on:submit=move |ev| {
                ev.prevent_default();
                if action.get_untracked() == TRIGGER_ACTION {
                    navigate_action("/import", Default::default());
                }
            }>
                <label for="action-select">"Действие"</label>
                <select id="action-select" name="action" bind:value=action>
                    <option value="">"---------"</option>
                    <option value=TRIGGER_ACTION>"🚀 Запустить импорт из 1С"</option>
                </select>
                <button type="submit" class="button secondary">"Выполнить"</button>
            </form>
            <div class="toolbar">
                <form class="filters" role="search" aria-label="Фильтры" on:submit=|ev| ev.prevent_default()>
                    <FilterSelect label="Статус" value=Signal::derive(move || param("status")) options=STATUS_OPTIONS
                        on_change=move |v| go1(v, param("kind"), param("date")) />
                    <FilterSelect label="Тип импорта" value=Signal::derive(move || param("kind")) options=&KIND_OPTIONS
                        on_change=move |v| go2(param("status"), v, param("date")) />
                    <label>
                        "Дата "
                        <input type="date" name="date" prop:value=move || param("date")
                            on:change=move |ev| go3(param("status"), param("kind"), event_target_value(&ev)) />
                    </label>
                </form>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Загрузка…"</p> }>
                {move || {
                    data.get().map(|res| match res {
                        Err(_) => view! { <p class="empty">"Не удалось загрузить сессии."</p> }.into_any(),
                        Ok(p) if p.rows.is_empty() => {
                            view! { <p class="empty" data-testid="empty-state">"Сессий импорта пока нет."</p> }.into_any()
                        }
                        Ok(p) => {
                            let pages = p.total.div_ceil(p.per_page.max(1));
                            view! {
                                <SessionsTable rows=p.rows.clone() live=live />
                                <Pager page=p.page pages=pages total=p.total
                                    status=param("status") kind=param("kind") date=param("date") />
                            }.into_any()
                        }
                    })
                }}
            </Transition>
        </Shell>
    }
}

/// The status filter's choices: (value, text).
const STATUS_OPTIONS: &[(&str, &str)] = &[
    ("completed", "Завершен"),
    ("in_progress", "В процессе"),
    ("failed", "Ошибка"),
    ("started", "Начат"),
];

/// The import type filter's choices, in run order: each kind's word and title, read off the
/// kind table.
const KIND_OPTIONS: [(&str, &str); ImportKind::ALL.len()] = {
    let mut out = [("", ""); ImportKind::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        let info = ImportKind::ALL[i].info();
        out[i] = (info.word, info.title);
        i += 1;
    }
    out
};

/// A labelled filter `<select>` with «Все» first.
#[component]
fn FilterSelect(
    label: &'static str,
    value: Signal<String>,
    options: &'static [(&'static str, &'static str)],
    on_change: impl Fn(String) + 'static,
) -> impl IntoView {
    view! {
        <label>
            {label} " "
            <select prop:value=move || value.get() on:change=move |ev| on_change(event_target_value(&ev))>
                <option value="">"Все"</option>
                {options.iter().map(|(v, t)| view! { <option value=*v>{*t}</option> }).collect_view()}
            </select>
        </label>
    }
}

#[component]
fn SessionsTable(rows: Vec<SessionRow>, live: LiveProgress) -> impl IntoView {
    let mut prev_run = String::new();
    let mut band = false;
    let body = rows
        .into_iter()
        .map(|row| {
            // Rows of one run share a band colour, so a run reads as one block.
            if row.run_id != prev_run {
                band = !band;
                prev_run = row.run_id.clone();
            }
            let (status_text, status_class) = (row.status.title(), row.status.css_class());
            let progress = if row.is_running() {
                let (id, db_processed, db_total) = (row.id, row.processed.max(0) as u64, row.total.max(0) as u64);
                let current = move || live.with(|m| m.get(&id).copied()).unwrap_or((db_processed, db_total));
                let pct = move || {
                    let (p, t) = current();
                    percent(p as i64, t as i64)
                };
                view! {
                    <div class="progress" role="progressbar" aria-label="Прогресс" aria-valuenow=pct aria-valuemin="0" aria-valuemax="100">
                        <div class="bar" style:width=move || format!("{}%", pct())></div>
                    </div>
                    <span class="progress-text">
                        {move || {
                            let (p, t) = current();
                            format!("{}% ({}/{})", pct(), thousands(p), thousands(t))
                        }}
                    </span>
                }
                .into_any()
            } else {
                "-".into_any()
            };
            view! {
                <tr class=if band { "run-a" } else { "run-b" } data-run=row.run_id.clone()>
                    <td data-label="ID"><A href=format!("/sessions/{}", row.id)>{row.id}</A></td>
                    <td data-label="Тип импорта">
                        {row.import_type.title()}
                        {row.mode.mark().map(|m| view! { " " <span class="mode-preview" title="Ничего не записано">{m}</span> })}
                    </td>
                    <td data-label="Статус" class=status_class>{status_text}</td>
                    <td data-label="Начало">{datetime_text(&row.started_at)}</td>
                    <td data-label="Длительность">{row_duration(&row)}</td>
                    <td data-label="Прогресс">{progress}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="result-list">
            <caption class="visually-hidden">"Сессии импорта"</caption>
            <thead>
                <tr>
                    <th scope="col">"ID"</th>
                    <th scope="col">"Тип импорта"</th>
                    <th scope="col">"Статус"</th>
                    <th scope="col">"Начало"</th>
                    <th scope="col">"Длительность"</th>
                    <th scope="col">"Прогресс"</th>
                </tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
    }
}

#[component]
fn Pager(
    page: u64,
    pages: u64,
    total: u64,
    status: String,
    kind: String,
    date: String,
) -> impl IntoView {
    let link = move |p: u64| monitor_href(&status, &kind, &date, p);
    view! {
        <nav class="paginator" aria-label="Страницы">
            {(page > 0).then(|| view! { <A href=link(page - 1)>"← Назад"</A> " " })}
            <span>{format!("Страница {} из {} · всего {}", page + 1, pages.max(1), thousands(total))}</span>
            {(page + 1 < pages).then(|| view! { " " <A href=link(page + 1)>"Вперёд →"</A> })}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::SessionStatus;

    fn row(status: SessionStatus, finished: Option<&str>) -> SessionRow {
        crate::testing::session_row(1, status, "2026-11-25T10:00:00Z", finished)
    }

    #[test]
    fn monitor_links_keep_only_set_filters() {
        assert_eq!(monitor_href("", "", "", 0), "/");
        assert_eq!(
            monitor_href("failed", "", "2026-11-25", 2),
            "/?status=failed&date=2026-11-25&page=2"
        );
        assert_eq!(wire::PER_PAGE, 50);
    }

    #[test]
    fn filter_choices_match_the_domain_words() {
        let kinds: Vec<_> = wire::ImportKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.title()))
            .collect();
        assert_eq!(KIND_OPTIONS.as_slice(), kinds.as_slice());
        for (v, text) in STATUS_OPTIONS {
            let status = SessionStatus::parse(v).unwrap_or_else(|| panic!("{v}"));
            assert!(status.title().ends_with(text), "{v}");
        }
    }

    #[test]
    fn durations_of_rows() {
        assert_eq!(
            row_duration(&row(SessionStatus::Completed, Some("2026-11-25T10:00:35Z"))),
            "35 сек"
        );
        assert_eq!(
            row_duration(&row(SessionStatus::InProgress, None)),
            "В процессе..."
        );
        assert_eq!(row_duration(&row(SessionStatus::Failed, None)), "-");
    }
}
