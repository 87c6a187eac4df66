use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{AdminInfo, ApiError, whoami};

/// How a banner in the messages area looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Success,
    Warning,
    Error,
    Info,
}

impl Level {
    fn class(self) -> &'static str {
        match self {
            Self::Success => "message success",
            Self::Warning => "message warning",
            Self::Error => "message error",
            Self::Info => "message info",
        }
    }

    /// The level a server message announces with its first character (✅ / ⚠️ / ❌).
    pub fn of_text(text: &str) -> Self {
        if text.starts_with('✅') {
            Self::Success
        } else if text.starts_with('⚠') {
            Self::Warning
        } else if text.starts_with('❌') {
            Self::Error
        } else {
            Self::Info
        }
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

    pub fn push(&self, text: impl Into<String>) {
        let text = text.into();
        self.0.update(|v| v.push((Level::of_text(&text), text)));
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
        other => Messages::get().push(other.to_string()),
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
                        .map(|(level, text)| view! { <li class=level.class()>{text}</li> })
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
    fn message_levels_follow_the_icon() {
        assert_eq!(Level::of_text("✅ Импорт завершен"), Level::Success);
        assert_eq!(Level::of_text("⚠️ Импорт уже запущен!"), Level::Warning);
        assert_eq!(Level::of_text("❌ Ошибка импорта"), Level::Error);
        assert_eq!(Level::of_text("Вы вышли"), Level::Info);
        assert_eq!(Level::Warning.class(), "message warning");
    }
}
