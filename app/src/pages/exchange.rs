use leptos::prelude::*;
use leptos_router::components::A;

use wire::text::thousands;
use wire::{ExchangePage, ExchangeRequest, ExchangeRow, ExchangeSetup, ExchangeStatus};

use crate::api::get_exchange_page;
use crate::format::datetime_text;
use crate::live;
use crate::shell::{Shell, report_error};

/// The CSS class of a reply's status.
pub fn status_class(status: ExchangeStatus) -> &'static str {
    match status {
        ExchangeStatus::Success | ExchangeStatus::Parameters => "status-completed",
        ExchangeStatus::Progress => "status-in-progress",
        ExchangeStatus::Failure => "status-failed",
    }
}

/// A size in bytes as the page shows it: «104 857 600 байт (100 МиБ)».
pub fn bytes_text(bytes: u64) -> String {
    let exact = format!("{} байт", thousands(bytes));
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{exact} ({} МиБ)", thousands(bytes / MIB))
    } else {
        exact
    }
}

/// A request as the journal names it: `import · import0_1.xml`.
pub fn request_text(r: &ExchangeRequest) -> String {
    match &r.filename {
        Some(f) => format!("{} · {f}", r.mode),
        None => r.mode.clone(),
    }
}

/// The address 1C's exchange node is given: this site's origin and the endpoint's path.
fn address(path: &str) -> String {
    #[cfg(target_arch = "wasm32")]
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    #[cfg(not(target_arch = "wasm32"))]
    let origin = String::new();
    format!("{origin}{path}")
}

/// «Обмен с 1С»: the address and settings of 1C's exchange endpoint, and the last exchanges,
/// newest first, updated live as 1C's requests arrive.
#[component]
pub fn ExchangePage() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let stream = live::on_each_message("/events/exchanges", move || {
        refresh.update(|n| *n += 1);
    });
    StoredValue::new_local(stream);
    let data = LocalResource::new(move || {
        refresh.track();
        get_exchange_page()
    });
    Effect::new(move |_| {
        if let Some(Err(e)) = data.get() {
            report_error(&e);
        }
    });
    view! {
        <Shell title="Обмен с 1С".to_owned()>
            <Transition fallback=|| view! { <p class="loading">"Загрузка…"</p> }>
                {move || data.get().map(|r| match r {
                    Ok(page) => view! { <Journal page=page /> }.into_any(),
                    Err(_) => view! { <p class="empty">"Журнал обмена недоступен."</p> }.into_any(),
                })}
            </Transition>
        </Shell>
    }
}

#[component]
fn Journal(page: ExchangePage) -> impl IntoView {
    let setup = match page.setup {
        Some(s) => view! { <Setup s=s /> }.into_any(),
        None => view! {
            <p class="message warning">"Обмен с 1С на этом сервере не настроен."</p>
        }
        .into_any(),
    };
    let exchanges = if page.exchanges.is_empty() {
        view! { <p class="empty" data-testid="no-exchanges">"Обменов с 1С ещё не было."</p> }
            .into_any()
    } else {
        page.exchanges
            .into_iter()
            .map(|x| view! { <Exchange x=x /> })
            .collect_view()
            .into_any()
    };
    view! {
        {setup}
        <h2>"Последние обмены"</h2>
        {exchanges}
    }
}

#[component]
fn Setup(s: ExchangeSetup) -> impl IntoView {
    let yes_no = |b: bool| if b { "да" } else { "нет" };
    let deactivate = if s.deactivate {
        "включена: после полного обмена товары, которых не было в выгрузке, отключаются"
    } else {
        "выключена: товары, которых нет в выгрузке, остаются как есть"
    };
    view! {
        <dl class="exchange-setup" data-testid="exchange-setup">
            <dt>"Адрес для узла обмена в 1С"</dt>
            <dd><code data-testid="exchange-address">{address(&s.path)}</code></dd>
            <dt>"Что делать с полученными данными"</dt>
            <dd data-testid="exchange-mode">{s.mode.title()}</dd>
            <dt>"Размер части файла (file_limit)"</dt>
            <dd>{bytes_text(s.file_limit)}</dd>
            <dt>"Архивы zip"</dt>
            <dd>{yes_no(s.zip)}</dd>
            <dt>"Деактивация"</dt>
            <dd>{deactivate}</dd>
            <dt>"Кодировка ответов"</dt>
            <dd>{s.charset}</dd>
            <dt>"Хранится завершённых обменов"</dt>
            <dd>{s.keep}</dd>
        </dl>
    }
}

#[component]
fn Exchange(x: ExchangeRow) -> impl IntoView {
    let result = x.result();
    let id = x.id.clone();
    let requests = x
        .requests
        .into_iter()
        .map(|r| view! { <Request r=r /> })
        .collect_view();
    view! {
        <section class="exchange" data-testid="exchange" data-exchange=id>
            <h3>
                {datetime_text(&x.started_at)} " · учётная запись «" {x.login} "» · "
                <span class=status_class(result) data-testid="exchange-result">{result.title()}</span>
            </h3>
            <p class="exchange-meta">
                "Обмен " <code>{x.id}</code> " · получено " {bytes_text(x.bytes.max(0) as u64)}
                " · последний запрос " {datetime_text(&x.last_at)}
            </p>
            <table class="exchange-requests">
                <thead>
                    <tr>
                        <th>"Время"</th>
                        <th>"Запрос"</th>
                        <th>"Вызовов"</th>
                        <th>"Получено"</th>
                        <th>"Сессии импорта"</th>
                        <th>"Ответ 1С"</th>
                    </tr>
                </thead>
                <tbody>{requests}</tbody>
            </table>
        </section>
    }
}

#[component]
fn Request(r: ExchangeRequest) -> impl IntoView {
    let sessions = r
        .sessions
        .iter()
        .map(|s| {
            view! {
                <A href=format!("/sessions/{}", s.id)>
                    {format!("№{} {} — {}", s.id, s.kind.title(), s.status.title())}
                </A>
                " "
            }
        })
        .collect_view();
    let reply = r.reply.join("\n");
    view! {
        <tr data-testid="exchange-request" data-mode=r.mode.clone()>
            <td data-label="Время">{datetime_text(&r.last_at)}</td>
            <td data-label="Запрос"><code>{request_text(&r)}</code></td>
            <td data-label="Вызовов">{r.calls}</td>
            <td data-label="Получено">{bytes_text(r.bytes.max(0) as u64)}</td>
            <td data-label="Сессии импорта" data-testid="request-sessions">{sessions}</td>
            <td data-label="Ответ 1С">
                <pre class=format!("reply {}", status_class(r.status)) data-testid="request-reply">{reply}</pre>
            </td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_requests_read_as_the_page_shows_them() {
        assert_eq!(
            bytes_text(104_857_600),
            "104\u{a0}857\u{a0}600 байт (100 МиБ)"
        );
        assert_eq!(bytes_text(4096), "4\u{a0}096 байт");
        let r = ExchangeRequest {
            mode: "import".into(),
            filename: Some("import0_1.xml".into()),
            first_at: String::new(),
            last_at: String::new(),
            calls: 3,
            bytes: 0,
            status: ExchangeStatus::Progress,
            reply: vec![],
            sessions: vec![],
        };
        assert_eq!(request_text(&r), "import · import0_1.xml");
        assert_eq!(status_class(ExchangeStatus::Failure), "status-failed");
        assert_eq!(status_class(ExchangeStatus::Parameters), "status-completed");
    }
}
