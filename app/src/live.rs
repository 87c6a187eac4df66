//! Server-sent events in the browser: an `EventSource` that hands each
//! [`RunState`](wire::RunState) to a callback and closes when its owner goes (or, for one run,
//! after the final state, so the browser does not reconnect to a finished stream); or, for the
//! «Обмен с 1С» page, one that only says "something changed".
use wire::RunState;

/// An open event stream; dropping it closes the stream.
pub struct Subscription {
    #[cfg(target_arch = "wasm32")]
    source: web_sys::EventSource,
    #[cfg(target_arch = "wasm32")]
    _on_message: wasm_bindgen::closure::Closure<dyn FnMut(web_sys::MessageEvent)>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        #[cfg(target_arch = "wasm32")]
        self.source.close();
    }
}

/// Opens `url` and hands the text of every message, with the source (to close it), to
/// `on_text`.
#[cfg(target_arch = "wasm32")]
fn open(
    url: &str,
    on_text: impl Fn(String, &web_sys::EventSource) + 'static,
) -> Option<Subscription> {
    use wasm_bindgen::JsCast;
    let source = web_sys::EventSource::new(url).ok()?;
    let closer = source.clone();
    let on_message = wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
        move |ev: web_sys::MessageEvent| {
            if let Some(text) = ev.data().as_string() {
                on_text(text, &closer);
            }
        },
    );
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    Some(Subscription {
        source,
        _on_message: on_message,
    })
}

/// Opens `url` and calls `on_state` with every state it sends. With `close_when_finished`, the
/// stream is closed after a finished run's state.
pub fn subscribe(
    url: &str,
    close_when_finished: bool,
    on_state: impl Fn(RunState) + 'static,
) -> Option<Subscription> {
    #[cfg(target_arch = "wasm32")]
    {
        open(url, move |text, source| {
            if let Ok(state) = serde_json::from_str::<RunState>(&text) {
                let finished = state.is_finished();
                on_state(state);
                if finished && close_when_finished {
                    source.close();
                }
            }
        })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (url, close_when_finished, on_state);
        None
    }
}

/// Opens `url` and calls `on_change` for every message it sends, whatever it says.
pub fn on_each_message(url: &str, on_change: impl Fn() + 'static) -> Option<Subscription> {
    #[cfg(target_arch = "wasm32")]
    {
        open(url, move |_, _| on_change())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (url, on_change);
        None
    }
}
