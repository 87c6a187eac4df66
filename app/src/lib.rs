//! The admin app of «Импорт из 1С»: pages and components (compiled to WebAssembly with the `csr`
//! feature) and the server functions they call (compiled into the server with `ssr`).
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// Server functions under `/api/`; what they answer is in `wire`.
pub mod api;
/// [`error::ApiError`]: why a server function answered with an error.
pub mod error;
/// Pure formatting: durations, Russian plurals, dates. Shared by pages and tests.
pub mod format;
/// Server-sent events in the browser.
pub mod live;
/// The login limiter: client addresses, attempt counts in Redis, concurrent password checks.
#[cfg(feature = "ssr")]
pub mod login_limit;
/// One module per page.
pub mod pages;
/// The page frame: header, breadcrumbs, messages area.
pub mod shell;
/// Server-only glue: state, the current administrator, the session cookie.
#[cfg(feature = "ssr")]
pub mod ssr;
/// Fixtures the unit tests share.
#[cfg(test)]
mod testing;

/// The whole browser app: a router over the pages.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/login") view=pages::login::LoginPage />
                <Route path=path!("/") view=pages::sessions::SessionsPage />
                <Route path=path!("/sessions/:id") view=pages::session_detail::SessionDetailPage />
                <Route path=path!("/import") view=pages::import::ImportPage />
                <Route path=path!("/exchange") view=pages::exchange::ExchangePage />
            </Routes>
        </Router>
    }
}
