//! The import lock: one key in Redis, taken with `SET key token NX PX ttl`, renewed and released
//! only by its owner (compare-and-expire, compare-and-delete in Lua, atomic in Redis).
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionLike;

/// How long the lock lives without renewal: short, so a crashed process frees it quickly.
pub const LOCK_TTL: Duration = Duration::from_secs(30);
/// How often the owner renews it.
pub const RENEW_EVERY: Duration = Duration::from_secs(10);

/// What a renewal found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// Still ours; the TTL starts again.
    Renewed,
    /// The key was gone (Redis restarted, or it expired) and nobody else took it: ours again.
    Reestablished,
    /// Someone else holds it now: stop.
    Lost,
}

/// A held lock. Dropping it does not release it: call [`ImportLock::release`] (the owner's run
/// task always does, however the run ends).
#[derive(Clone, Debug)]
pub struct ImportLock {
    key: String,
    token: String,
    ttl: Duration,
}

impl ImportLock {
    /// The owner token stored in the key; it starts with the run id so anyone can tell which run
    /// holds the lock.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Tries to take the lock for `run_id`. `Ok(None)`: someone else holds it.
    pub async fn acquire<C: ConnectionLike + Send>(
        conn: &mut C,
        key: &str,
        run_id: &str,
        ttl: Duration,
    ) -> redis::RedisResult<Option<ImportLock>> {
        let token = format!("{run_id}:{}", hex::encode(rand::random::<[u8; 16]>()));
        let reply: Option<String> = redis::cmd("SET")
            .arg(key)
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis() as u64)
            .query_async(conn)
            .await?;
        Ok(reply.map(|_| ImportLock {
            key: key.to_owned(),
            token,
            ttl,
        }))
    }

    /// Extends the TTL if the lock is still ours (or takes it back if the key vanished).
    pub async fn renew<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
    ) -> redis::RedisResult<Renewal> {
        let code: i64 = Script::new(
            r#"local v = redis.call("GET", KEYS[1])
               if v == ARGV[1] then redis.call("PEXPIRE", KEYS[1], ARGV[2]) return 1 end
               if not v then redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2]) return 2 end
               return 0"#,
        )
        .key(&self.key)
        .arg(&self.token)
        .arg(self.ttl.as_millis() as u64)
        .invoke_async(conn)
        .await?;
        Ok(match code {
            1 => Renewal::Renewed,
            2 => Renewal::Reestablished,
            _ => Renewal::Lost,
        })
    }

    /// Deletes the key only if it still holds our token. True when it did.
    pub async fn release<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
    ) -> redis::RedisResult<bool> {
        let n: i64 = Script::new(
            r#"if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
               return 0"#,
        )
        .key(&self.key)
        .arg(&self.token)
        .invoke_async(conn)
        .await?;
        Ok(n == 1)
    }
}

/// The run id of whoever holds the lock at `key`, if anyone does.
pub async fn holder<C: ConnectionLike + Send>(
    conn: &mut C,
    key: &str,
) -> redis::RedisResult<Option<String>> {
    let v: Option<String> = redis::cmd("GET").arg(key).query_async(conn).await?;
    Ok(v.map(|t| t.split(':').next().unwrap_or_default().to_owned()))
}

/// How long the Redis server has been up (`INFO server`), when it says. A lock that vanished
/// because Redis restarted empty is taken back by its live owner at the next renewal; until
/// Redis has been up for a lock TTL, a missing lock does not prove that its owner is gone.
pub async fn redis_uptime<C: ConnectionLike + Send>(
    conn: &mut C,
) -> redis::RedisResult<Option<Duration>> {
    let info: String = redis::cmd("INFO").arg("server").query_async(conn).await?;
    Ok(info
        .lines()
        .find_map(|l| l.strip_prefix("uptime_in_seconds:"))
        .and_then(|v| v.trim().parse().ok())
        .map(Duration::from_secs))
}
