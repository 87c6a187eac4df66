use leptos::prelude::*;
use leptos_router::components::A;

/// «Обмен с 1С»: the exchange endpoint's settings and journal.
pub mod exchange;
/// «Выбор типов данных для импорта» and the live run.
pub mod import;
/// «Вход»: the only page open without a login.
pub mod login;
/// One session's details.
pub mod session_detail;
/// «Сессии импорта»: the read-only monitor.
pub mod sessions;

/// Any address the app does not know.
#[component]
pub fn NotFound() -> impl IntoView {
    crate::shell::set_title("Страница не найдена");
    view! {
        <main class="content">
            <h1>"Страница не найдена"</h1>
            <p><A href="/">"К сессиям импорта"</A></p>
        </main>
    }
}
