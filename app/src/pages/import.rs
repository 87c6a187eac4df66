use leptos::prelude::*;
use leptos_router::components::A;
use wire::{Counter, ImportKind, KindPhase, KindState, Refusal, RunMode, RunPhase, RunState};

use crate::api::{
    ApiError, cancel_import, get_catalog_status, latest_run, preview_files, start_import,
    start_preview,
};
use crate::format::{percent, thousands};
use crate::live;
use crate::pages::session_detail::Changes;
use crate::shell::{Messages, Shell, report_error};

/// The server's text for stocks/prices on an empty catalog, shown before submitting too.
pub const CATALOG_EMPTY: &str = "⚠️ Невозможно загрузить остатки/цены: каталог товаров пуст. Сначала импортируйте каталог или выберите 'Каталог товаров' для импорта.";
/// The hint beside stocks and prices.
pub const NEEDS_CATALOG: &str = "(требует наличия каталога)";

/// Whether the dependency rule would refuse this choice (the server decides; this only warns).
pub fn dependency_warning(chosen: &[ImportKind], products: Option<u64>) -> bool {
    products == Some(0)
        && !chosen.contains(&ImportKind::Catalog)
        && chosen.iter().any(|k| k.needs_catalog())
}

/// How a kind's line in the progress panel reads.
pub fn phase_text(k: &KindState) -> String {
    match k.phase {
        KindPhase::Waiting => "⏸️ Ожидает".into(),
        KindPhase::Running => "⏳ Выполняется".into(),
        KindPhase::Done => "✅ Готово".into(),
        KindPhase::Failed => format!("❌ Ошибка: {}", k.error.clone().unwrap_or_default()),
        KindPhase::NotRun => "— Не запускался".into(),
    }
}

/// Counters in words, in [`Counter::ALL`] order: «Товары: 1 234 · Предложения (SKU): 56».
pub fn counts_text(k: &KindState) -> String {
    let mut parts: Vec<String> = k
        .counts
        .iter()
        .filter(|(c, _)| {
            !matches!(
                c,
                Counter::Created | Counter::Updated | Counter::Deactivated
            )
        })
        .map(|(c, v)| format!("{}: {}", c.title(), thousands(*v)))
        .collect();
    let skipped: u64 = k.skipped.values().sum();
    if skipped > 0 {
        parts.push(format!("пропущено: {}", thousands(skipped)));
    }
    parts.join(" · ")
}

/// «Выбор типов данных для импорта»: the four kinds, the dependency rule, then the live run.
#[component]
pub fn ImportPage() -> impl IntoView {
    let messages = Messages::get();
    let chosen = RwSignal::new(vec![ImportKind::Catalog]);
    let status = LocalResource::new(get_catalog_status);
    let products = move || status.get().and_then(|r| r.ok()).map(|s| s.products);
    let run = RwSignal::new(None::<RunState>);
    let stream = StoredValue::new_local(None::<live::Subscription>);

    let follow = move |run_id: String| {
        let url = format!("/events/runs/{run_id}");
        let sub = live::subscribe(&url, true, move |state| {
            let ended = state.is_finished()
                && !run
                    .get_untracked()
                    .is_some_and(|r: RunState| r.is_finished());
            if ended && let Some(m) = &state.message {
                messages.push(state.phase.level(), m.clone());
            }
            run.set(Some(state));
        });
        stream.set_value(sub);
    };

    // A reload, or another browser, picks up the latest run.
    let latest = LocalResource::new(latest_run);
    Effect::new(move |_| match latest.get() {
        Some(Ok(Some(state))) => {
            let running = !state.is_finished();
            let id = state.run_id.clone();
            run.set(Some(state));
            if running {
                follow(id);
            }
        }
        Some(Err(e)) => report_error(&e),
        _ => {}
    });

    // What «Запустить импорт» and «Проверить без записи» do with the server's answer.
    let started = move |answer: Option<Result<wire::Started, ApiError>>| match answer {
        Some(Ok(started)) => follow(started.run_id),
        Some(Err(e @ ApiError::Refused { reason, .. })) => {
            // Someone else's run holds the lock: show it here.
            if reason == Refusal::AlreadyRunning {
                latest.refetch();
            }
            messages.push(e.level(), e.to_string())
        }
        Some(Err(e)) => report_error(&e),
        None => {}
    };
    let start = Action::new_local(move |kinds: &Vec<ImportKind>| start_import(kinds.clone()));
    Effect::new(move |_| started(start.value().get()));
    let preview = Action::new_local(move |kinds: &Vec<ImportKind>| start_preview(kinds.clone()));
    Effect::new(move |_| started(preview.value().get()));
    // «Запустить импорт» from a preview's result: first ask whether the files changed since.
    let files_warning = RwSignal::new(None::<(String, Vec<ImportKind>)>);
    let check = Action::new_local(move |run_id: &String| preview_files(run_id.clone()));
    Effect::new(move |_| match check.value().get() {
        Some(Ok(pf)) => match pf.warning() {
            Some(w) => files_warning.set(Some((w, pf.kinds))),
            None => {
                messages.clear();
                start.dispatch(pf.kinds);
            }
        },
        Some(Err(e)) => report_error(&e),
        None => {}
    });
    let cancel = Action::new_local(move |run_id: &String| cancel_import(run_id.clone()));
    Effect::new(move |_| {
        if let Some(Err(e)) = cancel.value().get() {
            report_error(&e);
        }
    });

    let running = move || run.get().is_some_and(|r| !r.is_finished());
    let toggle = move |kind: ImportKind, on: bool| {
        chosen.update(|v| {
            v.retain(|k| *k != kind);
            if on {
                v.push(kind);
                v.sort();
            }
        })
    };

    view! {
        <Shell title="Выбор типов данных для импорта".to_owned() crumbs=vec![("Сессии импорта", "/".to_owned())]>
            <form class="import-form" aria-label="Выбор типов данных" on:submit=move |ev| {
                ev.prevent_default();
                messages.clear();
                start.dispatch(chosen.get_untracked());
            }>
                <fieldset disabled=running>
                    <legend>"Что импортировать"</legend>
                    {ImportKind::ALL
                        .into_iter()
                        .map(|kind| {
                            let id = format!("kind-{}", kind.as_str());
                            let hint_id = format!("hint-{}", kind.as_str());
                            let warn = move || kind.needs_catalog() && chosen.with(|c| c.contains(&kind) && dependency_warning(c, products()));
                            view! {
                                <div class="choice">
                                    <input type="checkbox" id=id.clone() name="kinds" value=kind.as_str()
                                        prop:checked=move || chosen.with(|c| c.contains(&kind))
                                        aria-describedby=kind.needs_catalog().then(|| hint_id.clone())
                                        on:change=move |ev| toggle(kind, event_target_checked(&ev)) />
                                    <label for=id>{kind.choice_label()}</label>
                                    {kind.needs_catalog().then(|| view! { <span class="hint" id=hint_id.clone()>{NEEDS_CATALOG}</span> })}
                                    <Show when=warn>
                                        <p class="message warning inline" role="alert">{CATALOG_EMPTY}</p>
                                    </Show>
                                </div>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <div class="submit-row">
                    <button type="submit" class="button primary" disabled=move || running() || start.pending().get()>
                        "Запустить импорт"
                    </button>
                    <button type="button" class="button secondary" data-testid="preview"
                        disabled=move || running() || preview.pending().get()
                        on:click=move |_| {
                            messages.clear();
                            files_warning.set(None);
                            preview.dispatch(chosen.get_untracked());
                        }>
                        "Проверить без записи"
                    </button>
                    <A href="/" attr:class="button secondary" attr:role="button">"Отмена"</A>
                </div>
            </form>
            {move || run.get().map(|state| view! { <RunPanel state=state on_cancel=move |id| { cancel.dispatch(id); } /> })}
            {move || run.get().filter(|s| s.mode == RunMode::Preview && s.phase == RunPhase::Completed).map(|state| {
                let run_id = state.run_id.clone();
                let changes: Vec<(ImportKind, wire::ChangeReport)> = state
                    .kinds
                    .iter()
                    .filter_map(|k| k.changes.clone().map(|c| (k.kind, c)))
                    .collect();
                view! {
                    <section class="preview-result" data-testid="preview-result">
                        {changes.into_iter().map(|(kind, c)| view! {
                            <div class="preview-kind" data-kind=kind.as_str()>
                                <h3>{kind.choice_label()}</h3>
                                <Changes c=c />
                            </div>
                        }).collect_view()}
                        {move || files_warning.get().map(|(w, kinds)| view! {
                            <p class="message warning" role="alert" data-testid="files-changed">{w}</p>
                            <button type="button" class="button danger" on:click=move |_| {
                                files_warning.set(None);
                                messages.clear();
                                start.dispatch(kinds.clone());
                            }>"Всё равно запустить импорт"</button>
                        })}
                        <button type="button" class="button primary" data-testid="import-from-preview"
                            disabled=move || start.pending().get() || check.pending().get()
                            on:click=move |_| { check.dispatch(run_id.clone()); }>
                            "Запустить импорт"
                        </button>
                    </section>
                }
            })}
        </Shell>
    }
}

/// The live run: each chosen kind in run order with its phase, progress and counters; the final
/// message; «Отменить импорт» while it runs.
#[component]
pub fn RunPanel(
    state: RunState,
    on_cancel: impl Fn(String) + Send + Sync + 'static,
) -> impl IntoView {
    let title = match (state.mode, state.is_finished()) {
        (RunMode::Preview, true) => "Результат проверки без записи",
        (RunMode::Preview, false) => "Проверка без записи выполняется",
        (RunMode::Import, true) => "Результат импорта",
        (RunMode::Import, false) => "Импорт выполняется",
    };
    let run_id = state.run_id.clone();
    let cancellable = state.phase == RunPhase::Running && state.cancel_requested_by.is_none();
    let cancelling = state.phase == RunPhase::Running && state.cancel_requested_by.is_some();
    let rows = state
        .kinds
        .iter()
        .map(|k| {
            let pct = percent(k.processed as i64, k.total as i64);
            let bar = (k.phase == KindPhase::Running).then(|| {
                view! {
                    <div class="progress" role="progressbar" aria-label=format!("Прогресс: {}", k.kind.title())
                        aria-valuenow=pct aria-valuemin="0" aria-valuemax="100">
                        <div class="bar" style:width=format!("{pct}%")></div>
                    </div>
                    <span class="progress-text">{format!("{pct}% ({}/{})", thousands(k.processed), thousands(k.total))}</span>
                }
            });
            let link = k.session_id.map(|id| view! { <A href=format!("/sessions/{id}")>{format!("Сессия №{id}")}</A> });
            view! {
                <li class=format!("run-kind phase-{:?}", k.phase).to_lowercase() data-kind=k.kind.as_str()>
                    <span class="kind-name">{k.kind.title()}</span>
                    <span class="kind-phase">{phase_text(k)}</span>
                    {bar}
                    <span class="kind-counts">{counts_text(k)}</span>
                    {link}
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="run-panel" aria-labelledby="run-title" data-testid="run-panel"
            data-run=state.run_id.clone() data-phase=format!("{:?}", state.phase).to_lowercase()
            data-mode=state.mode.as_str()>
            <h2 id="run-title">{title}</h2>
            <ol class="run-kinds">{rows}</ol>
            {state.message.clone().map(|m| {
                let class = if m.starts_with('✅') { "message success" } else { "message error" };
                view! { <p class=class data-testid="run-message">{m}</p> }
            })}
            {cancelling.then(|| view! { <p class="message warning">"Отмена запрошена…"</p> })}
            {cancellable.then(|| view! {
                <button type="button" class="button danger" on:click=move |_| on_cancel(run_id.clone())>"Отменить импорт"</button>
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_warns_only_without_catalog_on_an_empty_shop() {
        use ImportKind::*;
        assert!(dependency_warning(&[Stocks], Some(0)));
        assert!(dependency_warning(&[Prices, Customers], Some(0)));
        assert!(!dependency_warning(&[Catalog, Stocks], Some(0)));
        assert!(!dependency_warning(&[Stocks], Some(5)));
        assert!(
            !dependency_warning(&[Stocks], None),
            "unknown yet: the server decides"
        );
        assert!(!dependency_warning(&[Customers], Some(0)));
    }

    #[test]
    fn kind_lines_read_in_russian() {
        let mut k = KindState::waiting(ImportKind::Catalog);
        assert_eq!(phase_text(&k), "⏸️ Ожидает");
        k.phase = KindPhase::Failed;
        k.error = Some("файл обрывается".into());
        assert_eq!(phase_text(&k), "❌ Ошибка: файл обрывается");
        k.counts.insert(Counter::Products, 1234);
        k.counts.insert(Counter::Created, 3);
        k.skipped.insert(wire::SkipReason::UnknownProduct, 2);
        assert_eq!(counts_text(&k), "Товары: 1\u{a0}234 · пропущено: 2");
        k.counts.insert(Counter::StockRows, 5);
        k.counts.insert(Counter::Offers, 56);
        assert_eq!(
            counts_text(&k),
            "Товары: 1\u{a0}234 · Предложения (SKU): 56 · Строки остатков: 5 · пропущено: 2"
        );
        for (p, t) in [
            (KindPhase::Running, "⏳ Выполняется"),
            (KindPhase::Done, "✅ Готово"),
            (KindPhase::NotRun, "— Не запускался"),
        ] {
            k.phase = p;
            assert_eq!(phase_text(&k), t);
        }
    }
}
