//! The login limiter: who is asking (the client's address, from a proxy's `X-Forwarded-For`
//! only when that proxy is trusted), how often they may try, and how many password hashes may
//! run at once. Built only with the `ssr` feature.
//!
//! Attempts are counted in Redis *before* the password is checked, in one Lua script (so
//! parallel guesses cannot all slip through between a read and a write):
//! - per account and client address: the first [`LoginPolicy::pair_free`] attempts go
//!   straight through, then each further one must wait twice as long as the one before
//!   (1 s, 2 s, 4 s … up to [`LoginPolicy::pair_max_backoff`]); a successful login clears it,
//!   a quiet [`LoginPolicy::window`] forgets it;
//! - per account from all addresses: at most [`LoginPolicy::account_ceiling`] attempts per
//!   [`LoginPolicy::window`], a looser limit against guessing from many addresses.
//!
//! A stranger guessing from their own address therefore slows only themselves; the owner of
//! the account, from another address, logs in as usual.
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// An address or a network (`10.0.0.1`, `10.0.0.0/8`, `fd00::/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("«{s}» — не IP-адрес и не сеть вида 10.0.0.0/8"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("«{s}» — длина префикса должна быть от 0 до {max}"))?,
        };
        Ok(IpNet {
            addr: canonical(addr),
            prefix,
        })
    }
}

impl IpNet {
    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// `::ffff:1.2.3.4` is `1.2.3.4`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Parses `ONEC_TRUSTED_PROXIES`: addresses and networks separated by commas or spaces.
pub fn parse_trusted_proxies(s: &str) -> Result<Vec<IpNet>, String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(IpNet::from_str)
        .collect()
}

/// The address a request comes from: the peer of the connection, or — when that peer is a
/// trusted proxy — the last address in `X-Forwarded-For` that is not itself a trusted proxy
/// (a client can write anything into the header; only what our proxies appended is believed).
/// `None` when the server was not given connection info (tests without a socket).
pub fn client_ip(parts: &Parts, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = canonical(parts.extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip());
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(canonical)
}

/// The address as a limiter key: IPv4 as is, IPv6 by its /64 (one subscriber's network, which
/// hands out addresses by the billion).
pub fn limiter_addr(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let net = u128::from(v6) & (u128::MAX << 64);
            format!("{}/64", Ipv6Addr::from(net))
        }
        None => "unknown".into(),
    }
}

/// The limits of the login form.
#[derive(Clone, Debug)]
pub struct LoginPolicy {
    /// Proxies whose `X-Forwarded-For` is believed (`ONEC_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<IpNet>,
    /// Attempts at one account from one address that go through without waiting.
    pub pair_free: u64,
    /// The wait after the last free attempt; it doubles with each further one.
    pub pair_first_wait: Duration,
    /// The longest wait between attempts of one address at one account.
    pub pair_max_backoff: Duration,
    /// Attempts at one account from all addresses per [`Self::window`].
    pub account_ceiling: u64,
    /// How long attempts are remembered.
    pub window: Duration,
    /// How long web sessions live.
    pub sessions: engine::auth::SessionPolicy,
    /// Password checks (argon2, 19 MiB each) that may run at once; more wait up to
    /// [`HASH_QUEUE_WAIT`], then are refused with 429.
    hashes: Arc<Semaphore>,
    hash_slots: usize,
}

/// Attempts of one address at one account that go through without waiting.
pub const PAIR_FREE_ATTEMPTS: u64 = 5;
/// Attempts at one account from all addresses per window.
pub const ACCOUNT_CEILING: u64 = 100;
/// The window of the per-account ceiling (and how long a pair's count is kept).
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a login waits for a free password-check slot before it is refused.
pub const HASH_QUEUE_WAIT: Duration = Duration::from_secs(1);

impl Default for LoginPolicy {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(Vec::new(), cpus.clamp(2, 8))
    }
}

impl LoginPolicy {
    /// The default limits, trusting `trusted_proxies`, with `hash_slots` password checks at once.
    pub fn new(trusted_proxies: Vec<IpNet>, hash_slots: usize) -> Self {
        let hash_slots = hash_slots.max(1);
        Self {
            trusted_proxies,
            pair_free: PAIR_FREE_ATTEMPTS,
            pair_first_wait: Duration::from_secs(1),
            pair_max_backoff: LOGIN_WINDOW,
            account_ceiling: ACCOUNT_CEILING,
            window: LOGIN_WINDOW,
            sessions: engine::auth::SessionPolicy::default(),
            hashes: Arc::new(Semaphore::new(hash_slots)),
            hash_slots,
        }
    }

    /// How many password checks may run at once.
    pub fn hash_slots(&self) -> usize {
        self.hash_slots
    }

    /// A slot for one password check, waiting at most [`HASH_QUEUE_WAIT`]; `None` when every
    /// slot stays busy that long.
    pub async fn hash_slot(&self) -> Option<OwnedSemaphorePermit> {
        tokio::time::timeout(HASH_QUEUE_WAIT, self.hashes.clone().acquire_owned())
            .await
            .ok()?
            .ok()
    }
}

/// What the limiter says about one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Counted; the password may be checked.
    Go,
    /// This address must wait this long before trying this account again.
    Wait(Duration),
    /// The account had too many attempts from everywhere; this long until the window ends.
    AccountLocked(Duration),
}

/// KEYS[1] the pair's hash (`n` attempts, `until` ms), KEYS[2] the account's counter.
/// ARGV: pair_free, max backoff ms, ceiling, window ms, first wait ms. Returns {verdict, ms}: 0 go, 1 wait,
/// 2 account locked.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local free = tonumber(ARGV[1])
local max_backoff = tonumber(ARGV[2])
local ceiling = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local first_wait = tonumber(ARGV[5])
local wait_until = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
if now < wait_until then
  return {1, wait_until - now}
end
local total = redis.call('INCR', KEYS[2])
if redis.call('PTTL', KEYS[2]) < 0 then
  redis.call('PEXPIRE', KEYS[2], window)
end
if total > ceiling then
  return {2, redis.call('PTTL', KEYS[2])}
end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local delay = 0
if n >= free then
  delay = math.floor(math.min(first_wait * 2 ^ (n - free), max_backoff))
  redis.call('HSET', KEYS[1], 'until', now + delay)
end
redis.call('PEXPIRE', KEYS[1], math.max(window, delay))
return {0, 0}
";

/// Counts one attempt at `login_key` from `addr` and says whether it may go on. An error means
/// Redis did not answer: the caller refuses the login.
pub async fn admit(
    conn: &mut engine::redis::aio::MultiplexedConnection,
    keys: &engine::run::Keys,
    policy: &LoginPolicy,
    login_key: &str,
    addr: &str,
) -> Result<Verdict, engine::redis::RedisError> {
    let (verdict, ms): (i64, i64) = engine::redis::Script::new(SCRIPT)
        .key(keys.login_attempts(login_key, addr))
        .key(keys.login_ceiling(login_key))
        .arg(policy.pair_free)
        .arg(policy.pair_max_backoff.as_millis() as u64)
        .arg(policy.account_ceiling)
        .arg(policy.window.as_millis() as u64)
        .arg(policy.pair_first_wait.as_millis() as u64)
        .invoke_async(conn)
        .await?;
    let d = Duration::from_millis(ms.max(0) as u64);
    Ok(match verdict {
        0 => Verdict::Go,
        1 => Verdict::Wait(d),
        _ => Verdict::AccountLocked(d),
    })
}

/// One login attempt as the limiter counts it: the login's key and the client's limiter address
/// (for [`forget_pair`] after a success, and for the log).
pub struct Attempt {
    /// [`engine::auth::login_key`] of the login typed.
    pub login_key: String,
    /// [`limiter_addr`] of the client.
    pub addr: String,
}

/// Counts one attempt at `login` by the client of `parts` (the web login form and 1C's
/// `checkauth` alike) and says whether it may go on; `None` when Redis fails or does not answer
/// within 2 s (the caller refuses the login).
pub async fn admit_attempt(
    conn: &mut engine::redis::aio::MultiplexedConnection,
    keys: &engine::run::Keys,
    policy: &LoginPolicy,
    login: &str,
    parts: &Parts,
) -> (Attempt, Option<Verdict>) {
    let attempt = Attempt {
        login_key: engine::auth::login_key(login),
        addr: limiter_addr(client_ip(parts, &policy.trusted_proxies)),
    };
    let verdict = tokio::time::timeout(
        Duration::from_secs(2),
        admit(conn, keys, policy, &attempt.login_key, &attempt.addr),
    )
    .await;
    let verdict = match verdict {
        Ok(Ok(v)) => Some(v),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "login limiter script failed");
            None
        }
        Err(_) => None,
    };
    (attempt, verdict)
}

/// After a successful login: this address starts afresh at this account.
pub async fn forget_pair(
    conn: &mut engine::redis::aio::MultiplexedConnection,
    keys: &engine::run::Keys,
    login_key: &str,
    addr: &str,
) {
    let _: Result<(), _> = engine::redis::cmd("DEL")
        .arg(keys.login_attempts(login_key, addr))
        .query_async(conn)
        .await;
}

/// «N с» / «N мин» for a wait, rounded up.
pub fn wait_text(d: Duration) -> String {
    let secs = d.as_millis().div_ceil(1000).max(1) as u64;
    if secs < 120 {
        format!("{secs} с")
    } else {
        format!("{} мин", secs.div_ceil(60))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, Request};

    use super::*;

    fn parts(peer: &str, xff: &[&str]) -> Parts {
        let mut req = Request::new(());
        for v in xff {
            req.headers_mut()
                .append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        req.extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        req.into_parts().0
    }

    #[test]
    fn networks_parse_and_match() {
        let n: IpNet = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains("10.1.2.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.9.9".parse().unwrap()));
        let one: IpNet = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let any: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(any.contains("8.8.8.8".parse().unwrap()));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!("proxy.local".parse::<IpNet>().is_err());
        assert_eq!(
            parse_trusted_proxies("10.0.0.1, 192.168.0.0/24 ::1")
                .unwrap()
                .len(),
            3
        );
        assert_eq!(parse_trusted_proxies(" ").unwrap(), vec![]);
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = parse_trusted_proxies("127.0.0.1, 10.0.0.0/8").unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // Not through a trusted proxy: the header is the client's own words.
        assert_eq!(
            client_ip(&parts("203.0.113.9:5000", &["1.1.1.1"]), &trusted),
            ip("203.0.113.9")
        );
        // Through the proxy: the address it appended, not what the client wrote before it.
        assert_eq!(
            client_ip(
                &parts("127.0.0.1:5000", &["6.6.6.6, 198.51.100.7"]),
                &trusted
            ),
            ip("198.51.100.7")
        );
        // Two trusted hops, the header split over two lines.
        assert_eq!(
            client_ip(
                &parts("127.0.0.1:5000", &["6.6.6.6, 198.51.100.7", "10.0.0.5"]),
                &trusted
            ),
            ip("198.51.100.7")
        );
        // Nothing usable in the header: the proxy itself.
        assert_eq!(
            client_ip(&parts("127.0.0.1:5000", &["garbage"]), &trusted),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_ip(&parts("127.0.0.1:5000", &[]), &[]),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_ip(&parts("127.0.0.1:5000", &["[2001:db8::1]:443"]), &trusted),
            ip("2001:db8::1")
        );
        assert_eq!(client_ip(&Request::new(()).into_parts().0, &trusted), None);
    }

    #[test]
    fn limiter_addresses_group_ipv6_by_64() {
        assert_eq!(limiter_addr("1.2.3.4".parse().ok()), "1.2.3.4");
        assert_eq!(
            limiter_addr("2001:db8:1:2:aaaa::1".parse().ok()),
            "2001:db8:1:2::/64"
        );
        assert_eq!(limiter_addr(None), "unknown");
        assert_eq!(wait_text(Duration::from_millis(1500)), "2 с");
        assert_eq!(wait_text(Duration::from_secs(600)), "10 мин");
    }
}
