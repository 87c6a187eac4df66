use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::{ApiError, login};

/// Where to go after login: the `next` the server put in the URL, if it is a local path.
pub fn safe_next(next: Option<String>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/login") => n,
        _ => "/".to_owned(),
    }
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
        Some(Err(ApiError::Message(m))) => Some(m),
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
        assert_eq!(safe_next(Some("//evil.example".into())), "/");
        assert_eq!(safe_next(Some("https://evil.example".into())), "/");
        assert_eq!(safe_next(Some("/login".into())), "/");
        assert_eq!(safe_next(None), "/");
    }
}
