use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::{ApiError, login};

/// Where to go after login: the `next` the server put in the URL, if it is a path of this app.
///
/// The query arrives decoded, and browsers forgive a lot when they resolve a link: `\` counts
/// as `/`, tabs and newlines are dropped, so `/\evil.example` or `/\t/evil.example` would
/// leave the site. Only a path that starts with one `/` and holds no backslash, whitespace or
/// control character is followed; anything else goes home.
pub fn safe_next(next: Option<String>) -> String {
    match next {
        Some(n) if is_local_path(&n) && !n.starts_with("/login") => n,
        _ => "/".to_owned(),
    }
}

fn is_local_path(p: &str) -> bool {
    let mut chars = p.chars();
    chars.next() == Some('/')
        && !matches!(chars.next(), Some('/'))
        && !p
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
}

/// The login form.
#[component]
pub fn LoginPage() -> impl IntoView {
    crate::shell::set_title("Вход");
    let query = use_query_map();
    let user = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let submit = Action::new_local(move |(l, p): &(String, String)| login(l.clone(), p.clone()));
    let error = move || match submit.value().get() {
        Some(Err(ApiError::Message { text, .. })) => Some(text),
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };
    Effect::new(move |_| {
        if let Some(Ok(_)) = submit.value().get() {
            let next = safe_next(query.get_untracked().get("next"));
            #[cfg(target_arch = "wasm32")]
            if let Some(w) = web_sys::window() {
                let _ = w.location().set_href(&next);
            }
            #[cfg(not(target_arch = "wasm32"))]
            let _ = next;
        }
    });
    view! {
        <div class="login-page">
            <main class="login-box">
                <h1>"Импорт из 1С"</h1>
                <p class="subtitle">"Вход для администраторов платформы"</p>
                {move || error().map(|e| view! { <p class="message error" role="alert">{e}</p> })}
                <form on:submit=move |ev| {
                    ev.prevent_default();
                    submit.dispatch((user.get_untracked(), password.get_untracked()));
                }>
                    <div class="form-row">
                        <label for="login">"Логин"</label>
                        <input id="login" name="login" type="text" autocomplete="username" required
                            bind:value=user />
                    </div>
                    <div class="form-row">
                        <label for="password">"Пароль"</label>
                        <input id="password" name="password" type="password" required
                            autocomplete="current-password" bind:value=password />
                    </div>
                    <button type="submit" class="button primary" disabled=move || submit.pending().get()>
                        "Войти"
                    </button>
                </form>
            </main>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/sessions/5".into())), "/sessions/5");
        assert_eq!(safe_next(Some("/import?x=1".into())), "/import?x=1");
        assert_eq!(
            safe_next(Some("/%5Cevil.example".into())),
            "/%5Cevil.example"
        );
        assert_eq!(safe_next(Some("/".into())), "/");
        assert_eq!(safe_next(Some("//evil.example".into())), "/");
        assert_eq!(safe_next(Some("https://evil.example".into())), "/");
        assert_eq!(safe_next(Some("/login".into())), "/");
        assert_eq!(safe_next(Some("".into())), "/");
        assert_eq!(safe_next(None), "/");
        // What browsers turn into `//evil.example` (`\` is `/`, tabs and newlines vanish).
        for evil in [
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/ /evil.example",
            "/sessions\\..\\\\evil.example",
            "/\u{0}/evil.example",
            "/\u{a0}/evil.example",
        ] {
            assert_eq!(safe_next(Some(evil.into())), "/", "{evil:?}");
        }
    }
}
