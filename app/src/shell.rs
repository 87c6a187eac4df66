use leptos::prelude::*;
use leptos_router::components::A;

use wire::AdminInfo;

use crate::api::{ApiError, whoami};

pub use wire::Level;

/// The CSS class of a banner of this level.
fn class(level: Level) -> &'static str {
    match level {
        Level::Success => "message success",
        Level::Warning => "message warning",
        Level::Error => "message error",
        Level::Info => "message info",
    }
}

/// The messages area's content, kept across page changes like Django's flash messages.
#[derive(Clone, Copy)]
pub struct Messages(pub RwSignal<Vec<(Level, String)>>);

impl Messages {
    /// The app-wide messages, created on first use.
    pub fn get() -> Self {
        use_context::<Messages>().unwrap_or_else(|| {
            let m = Messages(RwSignal::new(Vec::new()));
            provide_context(m);
            m
        })
    }

    pub fn push(&self, level: Level, text: impl Into<String>) {
        let text = text.into();
        self.0.update(|v| v.push((level, text)));
    }

    pub fn clear(&self) {
        self.0.set(Vec::new());
    }
}

/// Sets the browser tab's title: «{page} | Импорт из 1С».
pub fn set_title(page: &str) {
    #[cfg(target_arch = "wasm32")]
    if let Some(doc) = web_sys::window().and_then(|w| w.document()) {
        doc.set_title(&format!("{page} | Импорт из 1С"));
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = page;
}

/// Leaves the app for the login page (a full load, so no state of the old session survives).
pub fn go_to_login() {
    #[cfg(target_arch = "wasm32")]
    if let Some(w) = web_sys::window() {
        let here = w.location().pathname().unwrap_or_default();
        let target = if here.is_empty() || here == "/" || here == "/login" {
            "/login".to_owned()
        } else {
            format!("/login?next={here}")
        };
        let _ = w.location().set_href(&target);
    }
}

/// Shows an API error: a lost login goes to the login page, anything else to the messages area.
pub fn report_error(err: &ApiError) {
    match err {
        ApiError::Unauthorized => go_to_login(),
        other => Messages::get().push(other.level(), other.to_string()),
    }
}

/// The frame of every page behind the login: header with the site name, the administrator and
/// «Выйти», breadcrumbs, the messages area, then the page.
#[component]
pub fn Shell(
    /// The page's name: the tab title, the `<h1>` and the last breadcrumb.
    title: String,
    /// Breadcrumbs before the page itself: (text, link).
    #[prop(optional)]
    crumbs: Vec<(&'static str, String)>,
    children: Children,
) -> impl IntoView {
    set_title(&title);
    let messages = Messages::get();
    let me = LocalResource::new(whoami);
    let logout = Action::new_local(|_: &()| crate::api::logout());
    Effect::new(move |_| {
        if let Some(Err(e)) = me.get() {
            report_error(&e);
        }
    });
    Effect::new(move |_| {
        if logout.value().get().is_some() {
            go_to_login();
        }
    });
    let user = move || match me.get() {
        Some(Ok(AdminInfo { login })) => login,
        _ => String::new(),
    };
    view! {
        <header class="site-header">
            <div class="branding">
                <A href="/">"Импорт из 1С — администрирование"</A>
            </div>
            <nav class="site-nav" aria-label="Разделы">
                <A href="/">"Сессии импорта"</A>
                <A href="/import">"Импорт"</A>
                <A href="/exchange">"Обмен с 1С"</A>
            </nav>
            <nav class="user-tools" aria-label="Пользователь">
                <span class="user">"Добро пожаловать, " <strong data-testid="current-user">{user}</strong> "."</span>
                <button type="button" class="link-button" on:click=move |_| { logout.dispatch(()); }>
                    "Выйти"
                </button>
            </nav>
        </header>
        <nav class="breadcrumbs" aria-label="Навигация">
            <A href="/">"Главная"</A>
            {crumbs
                .into_iter()
                .map(|(text, href)| view! { " › " <A href=href>{text}</A> })
                .collect_view()}
            " › "
            <span aria-current="page">{title.clone()}</span>
        </nav>
        <main class="content">
            <ul class="messagelist" role="status" aria-live="polite">
                {move || {
                    messages
                        .0
                        .get()
                        .into_iter()
                        .map(|(level, text)| view! { <li class=class(level)>{text}</li> })
                        .collect_view()
                }}
            </ul>
            <h1>{title}</h1>
            {children()}
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_banner_takes_its_level_from_the_typed_error_not_from_the_text() {
        use crate::api::ApiError;
        use wire::Refusal;
        // The text says nothing (no icon): the level still comes from the reason.
        let busy = ApiError::refused(Refusal::AlreadyRunning, "Импорт уже запущен");
        assert_eq!(busy.level(), Level::Warning);
        let down = ApiError::refused(Refusal::RedisDown, "✅ misleading icon");
        assert_eq!(down.level(), Level::Error);
        assert_eq!(ApiError::warning("x").level(), Level::Warning);
        assert_eq!(ApiError::error("x").level(), Level::Error);
        assert_eq!(ApiError::Server("x".into()).level(), Level::Error);
        assert_eq!(class(Level::Warning), "message warning");
        assert_eq!(class(Level::Success), "message success");
        // The JSON the browser receives names the reason.
        let json = serde_json::to_string(&busy).unwrap();
        assert!(json.contains(r#""reason":"already_running""#), "{json}");
        assert_eq!(serde_json::from_str::<ApiError>(&json).unwrap(), busy);
    }
}
