use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use wire::{Counter, SessionDetail, SkipReason};

use crate::api::get_session;
use crate::format::{datetime_text, thousands};
use crate::pages::sessions::row_duration;
use crate::shell::{Shell, report_error};

/// The «Счётчики» table of a session's stored report (`counts`, `skipped` excluded): the
/// counters this version knows, in [`Counter::ALL`] order under their Russian titles, then any
/// key a newer or older version wrote, as it is (shown rather than dropped).
pub fn counter_rows(report: &serde_json::Value) -> Vec<(String, String)> {
    let counts = report.get("counts").and_then(|c| c.as_object());
    labelled_rows(
        counts,
        Counter::ALL.map(|c| (c.key(), c.title())),
        &["skipped"],
    )
}

/// The «Пропущено» table of a session's stored report (`counts.skipped`): the reasons this
/// version knows, in [`SkipReason::ALL`] order with their text, then unknown keys as they are.
pub fn skipped_rows(report: &serde_json::Value) -> Vec<(String, String)> {
    let skipped = report
        .pointer("/counts/skipped")
        .and_then(|c| c.as_object());
    labelled_rows(skipped, SkipReason::ALL.map(|r| (r.key(), r.text())), &[])
}

/// `(label, value)` rows of a stored object: the `known` keys in their order with their labels,
/// then the remaining keys (except `ignore`) raw, in the object's order.
fn labelled_rows<const N: usize>(
    object: Option<&serde_json::Map<String, serde_json::Value>>,
    known: [(&'static str, &'static str); N],
    ignore: &[&str],
) -> Vec<(String, String)> {
    let Some(object) = object else {
        return Vec::new();
    };
    let value = |v: &serde_json::Value| v.as_u64().map(thousands).unwrap_or_else(|| v.to_string());
    let mut rows: Vec<(String, String)> = known
        .iter()
        .filter_map(|(key, label)| object.get(*key).map(|v| ((*label).to_owned(), value(v))))
        .collect();
    rows.extend(
        object
            .iter()
            .filter(|(k, _)| {
                !ignore.contains(&k.as_str()) && !known.iter().any(|(key, _)| key == k)
            })
            .map(|(k, v)| (k.clone(), value(v))),
    );
    rows
}

/// One import session: counters, skipped records by reason, the error, timestamps, who started it.
#[component]
pub fn SessionDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|s| s.parse::<i64>().ok()).unwrap_or(0));
    let data = LocalResource::new(move || get_session(id()));
    Effect::new(move |_| {
        if let Some(Err(e)) = data.get() {
            report_error(&e);
        }
    });
    view! {
        <Shell title=format!("Сессия импорта №{}", id()) crumbs=vec![("Сессии импорта", "/".to_owned())]>
            <Transition fallback=|| view! { <p class="loading">"Загрузка…"</p> }>
                {move || data.get().map(|r| match r {
                    Ok(d) => view! { <Detail d=d /> }.into_any(),
                    Err(_) => view! { <p class="empty">"Сессия не найдена."</p> }.into_any(),
                })}
            </Transition>
        </Shell>
    }
}

#[component]
fn Detail(d: SessionDetail) -> impl IntoView {
    let row = d.row;
    let (status_text, status_class) = (row.status.title(), row.status.css_class());
    let counts = counter_rows(&d.report);
    let skipped = skipped_rows(&d.report);
    view! {
        <dl class="detail">
            <dt>"Тип импорта"</dt><dd>{row.import_type.title()}</dd>
            <dt>"Статус"</dt><dd class=status_class>{status_text}</dd>
            <dt>"Начало"</dt><dd>{datetime_text(&row.started_at)}</dd>
            <dt>"Окончание"</dt><dd>{row.finished_at.as_deref().map(datetime_text).unwrap_or_else(|| "-".into())}</dd>
            <dt>"Длительность"</dt><dd>{row_duration(&row)}</dd>
            <dt>"Обработано"</dt><dd>{format!("{} из {}", thousands(row.processed.max(0) as u64), thousands(row.total.max(0) as u64))}</dd>
            <dt>"Запустил"</dt><dd>{row.started_by()}</dd>
            {d.cancelled_by.clone().map(|by| view! { <dt>"Отменил"</dt><dd>{by}</dd> })}
            <dt>"Запуск"</dt><dd><code>{row.run_id.clone()}</code></dd>
            {row.mode.mark().map(|m| view! { <dt>"Режим"</dt><dd class="mode-preview">{m}": ничего не записано"</dd> })}
        </dl>
        {row.error_message.clone().map(|e| view! { <h2>"Ошибка"</h2><p class="message error">{e}</p> })}
        {d.run_message.clone().map(|m| view! { <h2>"Итог запуска"</h2><p class="run-summary">{m}</p> })}
        <h2>"Счётчики"</h2>
        {if counts.is_empty() {
            view! { <p class="empty">"Нет данных."</p> }.into_any()
        } else {
            view! {
                <table class="result-list counters">
                    <tbody>
                        {counts.into_iter().map(|(k, v)| view! { <tr><th scope="row">{k}</th><td>{v}</td></tr> }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
        {d.changes.clone().map(|c| view! { <Changes c=c /> })}
        {(!skipped.is_empty()).then(|| view! {
            <h2>"Пропущено"</h2>
            <table class="result-list counters">
                <tbody>
                    {skipped.into_iter().map(|(k, v)| view! { <tr><th scope="row">{k}</th><td>{v}</td></tr> }).collect_view()}
                </tbody>
            </table>
        })}
    }
}

/// A price or quantity in ten-thousandths as the administrator reads it: `1 234,5`.
pub fn e4_text(v: i64) -> String {
    let neg = v < 0;
    let a = v.unsigned_abs();
    let (int, frac) = (a / 10_000, a % 10_000);
    let mut s = thousands(int);
    if frac > 0 {
        let f = format!("{frac:04}");
        s.push(',');
        s.push_str(f.trim_end_matches('0'));
    }
    if neg { format!("-{s}") } else { s }
}

/// Hundredths of a percent as `+12,5 %`.
pub fn percent_e2_text(p: Option<i64>) -> String {
    match p {
        None => "с нуля".to_owned(),
        Some(p) => {
            let sign = if p > 0 {
                "+"
            } else if p < 0 {
                "-"
            } else {
                ""
            };
            let a = p.unsigned_abs();
            let (int, frac) = (a / 100, a % 100);
            if frac == 0 {
                format!("{sign}{} %", thousands(int))
            } else {
                let f = format!("{frac:02}");
                format!("{sign}{},{} %", thousands(int), f.trim_end_matches('0'))
            }
        }
    }
}

/// «Что изменилось»: counts per entity, warnings, examples.
#[component]
pub fn Changes(c: wire::ChangeReport) -> impl IntoView {
    use wire::{ChangeColumn, ChangeEntity, ExampleKind};
    let rows: Vec<(ChangeEntity, wire::ChangeCounts)> = ChangeEntity::ALL
        .into_iter()
        .filter_map(|e| c.counts.get(&e).map(|n| (e, *n)))
        .collect();
    let warnings: Vec<String> = c.warnings.iter().map(|w| w.text()).collect();
    let lists: Vec<(ExampleKind, Vec<wire::Named>)> = ExampleKind::ALL
        .into_iter()
        .map(|k| (k, c.examples(k).to_vec()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let prices = c.price_changes.clone();
    let stocks = c.stock_changes.clone();
    view! {
        <section class="changes">
            <h2>"Что изменилось"</h2>
            {warnings.into_iter().map(|w| view! { <p class="message warning change-warning">{w}</p> }).collect_view()}
            {if rows.is_empty() {
                view! { <p class="empty">"Нет изменений."</p> }.into_any()
            } else {
                view! {
                    <table class="result-list change-counts">
                        <thead><tr>
                            <th scope="col">""</th>
                            {ChangeColumn::ALL.into_iter().map(|col| view! { <th scope="col">{col.title()}</th> }).collect_view()}
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|(e, n)| view! {
                                <tr data-entity=format!("{e:?}")>
                                    <th scope="row">{e.title()}</th>
                                    {ChangeColumn::ALL.into_iter().map(|col| view! { <td data-label=col.title()>{thousands(n.get(col))}</td> }).collect_view()}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
            {lists.into_iter().map(|(k, l)| view! {
                <h3>{k.title()}</h3>
                <ul class="change-examples">
                    {l.into_iter().map(|n| view! { <li>{n.name}" "<code>{n.onec_id}</code></li> }).collect_view()}
                </ul>
            }).collect_view()}
            {(!prices.is_empty()).then(|| view! {
                <h3>"Самые большие изменения цен"</h3>
                <table class="result-list price-changes">
                    <thead><tr><th>"Предложение"</th><th>"Тип цены"</th><th>"Было"</th><th>"Стало"</th><th>"Изменение"</th></tr></thead>
                    <tbody>
                        {prices.into_iter().map(|p| view! {
                            <tr>
                                <td data-label="Предложение">{p.offer.name}</td>
                                <td data-label="Тип цены">{p.price_type.name}</td>
                                <td data-label="Было">{e4_text(p.old_e4)}</td>
                                <td data-label="Стало">{e4_text(p.new_e4)}</td>
                                <td data-label="Изменение">{percent_e2_text(p.percent_e2)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            {(!stocks.is_empty()).then(|| view! {
                <h3>"Самые большие изменения остатков"</h3>
                <table class="result-list stock-changes">
                    <thead><tr><th>"Предложение"</th><th>"Склад"</th><th>"Было"</th><th>"Стало"</th></tr></thead>
                    <tbody>
                        {stocks.into_iter().map(|s| view! {
                            <tr>
                                <td data-label="Предложение">{s.offer.name}</td>
                                <td data-label="Склад">{s.warehouse.name}</td>
                                <td data-label="Было">{e4_text(s.old_e4)}</td>
                                <td data-label="Стало">{e4_text(s.new_e4)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn amounts_and_percents_read_in_russian() {
        assert_eq!(super::e4_text(12_345_000), "1\u{a0}234,5");
        assert_eq!(super::e4_text(-5_000), "-0,5");
        assert_eq!(super::e4_text(70_000), "7");
        assert_eq!(super::percent_e2_text(Some(10_000)), "+100 %");
        assert_eq!(super::percent_e2_text(Some(-1_250)), "-12,5 %");
        assert_eq!(super::percent_e2_text(None), "с нуля");
    }

    #[test]
    fn counters_have_russian_names() {
        let rows = super::counter_rows(&serde_json::json!({"counts": {"products": 3}}));
        assert_eq!(rows, [("Товары".to_owned(), "3".to_owned())]);
    }

    #[test]
    fn the_detail_tables_read_in_russian_in_counter_order_keeping_unknown_keys() {
        let report = serde_json::json!({"counts": {
            "created": 2,
            "stock_rows": 1234,
            "from_a_newer_version": 7,
            "products": 3,
            "skipped": {"unknown_offer": 4, "missing_id": 1, "reason_of_the_future": 2},
        }});
        let rows = super::counter_rows(&report);
        assert_eq!(
            rows,
            [
                ("Товары", "3"),
                ("Строки остатков", "1\u{a0}234"),
                ("Новых записей", "2"),
                ("from_a_newer_version", "7"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        let skipped = super::skipped_rows(&report);
        assert_eq!(
            skipped,
            [
                ("нет Ид", "1"),
                ("нет предложения в каталоге", "4"),
                ("reason_of_the_future", "2"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert!(super::counter_rows(&serde_json::json!({})).is_empty());
        assert!(super::skipped_rows(&serde_json::json!({"counts": {"products": 1}})).is_empty());
    }
}
