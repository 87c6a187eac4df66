//! Every Redis key and channel name a deployment uses (the import lock, the live state, the
//! cancel flag, the login counters), built from one prefix so deployments and tests can share a
//! Redis.

/// The default prefix of every Redis key and channel (`ONEC_REDIS_PREFIX`).
pub const DEFAULT_PREFIX: &str = "onec";

/// The Redis names one deployment uses; instances that share a prefix share the lock.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    /// The lock every instance competes for.
    pub fn lock(&self) -> String {
        format!("{}:import:lock", self.prefix)
    }

    /// The pub/sub channel every state change goes to.
    pub fn events(&self) -> String {
        format!("{}:import:events", self.prefix)
    }

    /// The pub/sub channel told the id of an exchange whose journal changed (the «Обмен с 1С»
    /// page's live updates).
    pub fn exchange_events(&self) -> String {
        format!("{}:exchange:events", self.prefix)
    }

    /// The latest run's id.
    pub fn latest(&self) -> String {
        format!("{}:import:latest", self.prefix)
    }

    /// A run's latest [`wire::RunState`] (JSON).
    pub fn state(&self, run_id: &str) -> String {
        format!("{}:import:run:{run_id}", self.prefix)
    }

    /// Login attempts at one account (by [`crate::auth::login_key`]) from one client address:
    /// the count and the time before which the next attempt must wait.
    pub fn login_attempts(&self, login_key: &str, addr: &str) -> String {
        format!("{}:login:pair:{login_key}:{addr}", self.prefix)
    }

    /// Login attempts at one account from every address in the current window.
    pub fn login_ceiling(&self, login_key: &str) -> String {
        format!("{}:login:account:{login_key}", self.prefix)
    }

    /// Set (to the administrator's login) to ask a run to stop.
    pub fn cancel(&self, run_id: &str) -> String {
        format!("{}:import:cancel:{run_id}", self.prefix)
    }
}
