use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::{SessionDetail, get_session};
use crate::format::{datetime_text, kind_title, status_title, thousands};
use crate::pages::sessions::row_duration;
use crate::shell::{Shell, report_error};

/// Russian names of the report's counters.
pub fn counter_title(key: &str) -> &str {
    match key {
        "products" => "Товары",
        "variants" => "Варианты (SKU)",
        "categories" => "Группы",
        "price_types" => "Типы цен",
        "warehouses" => "Склады",
        "prices" => "Цены",
        "stock_rows" => "Строки остатков",
        "offers" => "Предложения (SKU)",
        "customers" => "Клиенты",
        "properties" => "Свойства",
        "property_values" => "Значения свойств",
        "units" => "Единицы измерения",
        "warehouses_created" => "Новые склады",
        "created" => "Создано",
        "updated" => "Обновлено",
        "deactivated" => "Деактивировано",
        other => other,
    }
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
    let (status_text, status_class) = status_title(&row.status);
    let counts: Vec<(String, String)> = d
        .report
        .get("counts")
        .and_then(|c| c.as_object())
        .map(|o| {
            o.iter()
                .filter(|(k, _)| k.as_str() != "skipped")
                .map(|(k, v)| {
                    (
                        counter_title(k).to_owned(),
                        v.as_u64().map(thousands).unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let skipped: Vec<(String, String)> = d
        .report
        .pointer("/counts/skipped")
        .and_then(|c| c.as_object())
        .map(|o| {
            o.iter()
                .map(|(k, v)| (wire::skip_reason_text(k).to_owned(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    view! {
        <dl class="detail">
            <dt>"Тип импорта"</dt><dd>{kind_title(&row.import_type).to_owned()}</dd>
            <dt>"Статус"</dt><dd class=status_class>{status_text.to_owned()}</dd>
            <dt>"Начало"</dt><dd>{datetime_text(&row.started_at)}</dd>
            <dt>"Окончание"</dt><dd>{row.finished_at.as_deref().map(datetime_text).unwrap_or_else(|| "-".into())}</dd>
            <dt>"Длительность"</dt><dd>{row_duration(&row)}</dd>
            <dt>"Обработано"</dt><dd>{format!("{} из {}", thousands(row.processed.max(0) as u64), thousands(row.total.max(0) as u64))}</dd>
            <dt>"Запустил"</dt><dd>{row.triggered_by.clone()}</dd>
            {d.cancelled_by.clone().map(|by| view! { <dt>"Отменил"</dt><dd>{by}</dd> })}
            <dt>"Запуск"</dt><dd><code>{row.run_id.clone()}</code></dd>
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

#[cfg(test)]
mod tests {
    #[test]
    fn counters_have_russian_names() {
        assert_eq!(super::counter_title("stock_rows"), "Строки остатков");
        assert_eq!(super::counter_title("unknown_key"), "unknown_key");
    }
}
