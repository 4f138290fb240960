//! Cluster mode (`backend = "redis"`): the budget several instances share
//! lives in Redis and is changed only by one Lua script, atomically. Cores
//! lease batches from it exactly as they do from the in-memory broker, so
//! Redis sees one round trip per lease, not per request.
//!
//! The Redis client runs on a thread of its own ("ringgate-limiter") with a
//! blocking std socket and a hand-written RESP client: a worker core never
//! blocks on Redis, and no second async runtime (tokio) is pulled in for a
//! handful of commands. Cores send it lease requests over a channel and
//! await the answer (a one-shot per lease); it pipelines whatever requests
//! are queued into one write.
//!
//! Keys are `{<key_prefix>:<limit>:<hash>}`: the braces are a Redis
//! Cluster hash tag, so however the script grows, everything about one
//! budget hashes to one slot. The script uses Redis's clock (`TIME`), so
//! instances with skewed clocks still agree on windows.
//!
//! When Redis can't be reached the thread marks it down (`up()` false,
//! metric `ringgate_ratelimit_redis_up 0`, one log line), cores apply
//! `on_redis_error` without asking, and the thread retries every
//! `retry_interval` until Redis answers again (logged too).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::algo::Rule;
use super::broker::Grant;
use super::oneshot;
use super::resp::{Conn, Reply};
use super::RedisSpec;
use crate::stats::LimiterStats;

/// The Lua script: `take` leases up to n admissions (a share of what is
/// left, as `algo::lease_size`), `refund` returns unused ones. Times in µs.
/// It mirrors `algo.rs` (which has the unit tests and the error bounds).
///
/// The sliding window is `algo`'s integer rule, `prev·(P−e) + curr·P <
/// N·P`, written as `N − curr − floor(prev·(P−e)/P)` admissions left, and
/// its retry is the first µs at which that becomes 1 (in this window, or
/// in the next one once this one alone holds N). Lua numbers are doubles:
/// the products are exact, and so the floors, while `N·P` (P in µs) stays
/// below 2^53 — e.g. up to 100,000 requests per day.
pub const SCRIPT: &str = r#"
local key = KEYS[1]
local op, alg = ARGV[1], ARGV[2]
local limit, period, burst = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local n, extra = tonumber(ARGV[6]), tonumber(ARGV[7])
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000000 + tonumber(tm[2])
local function lease(avail)
  local w = math.floor(avail / (2 * math.max(extra, 1)))
  if w < 1 then w = 1 end
  if w > n then w = n end
  if w > avail then w = avail end
  return w
end
if alg == 'fixed_window' or alg == 'sliding_window' then
  local start = now - (now % period)
  local v = redis.call('HMGET', key, 's', 'a', 'c')
  local s, a, c = tonumber(v[1]), tonumber(v[2]) or 0, tonumber(v[3]) or 0
  if s ~= start then
    if s ~= nil and s + period == start then c = a else c = 0 end
    a = 0
    s = start
  end
  if op == 'refund' then
    if extra == start then a = math.max(a - n, 0)
    elseif alg == 'sliding_window' and extra + period == start then c = math.max(c - n, 0) end
  end
  local e = now - start
  local prevw = 0
  if alg == 'sliding_window' then prevw = math.floor(c * (period - e) / period) end
  local avail = math.max(limit - a - prevw, 0)
  local g = 0
  if op == 'take' then g = lease(avail) end
  a = a + g
  redis.call('HSET', key, 's', s, 'a', a, 'c', c)
  redis.call('PEXPIRE', key, math.ceil(2 * period / 1000) + 1000)
  local retry = 0
  if avail == 0 then
    if alg == 'fixed_window' then retry = period - e
    elseif a < limit then retry = math.floor((c + a - limit) * period / c) + 1 - e
    else retry = period + math.floor((a - limit) * period / math.max(a, 1)) + 1 - e end
  end
  return {g, avail - g, period - e, retry, start, period - e}
elseif alg == 'token_bucket' then
  local cap = burst * period
  local v = redis.call('HMGET', key, 'u', 't')
  local u, t = tonumber(v[1]), tonumber(v[2])
  if u == nil or t == nil then u = cap; t = now end
  if now > t then u = math.min(cap, u + (now - t) * limit); t = now end
  local g = 0
  if op == 'refund' then u = math.min(cap, u + n * period)
  else g = lease(math.floor(u / period)); u = u - g * period end
  redis.call('HSET', key, 'u', u, 't', t)
  redis.call('PEXPIRE', key, math.ceil((cap - u) / limit / 1000) + 1000)
  local retry = 0
  if g == 0 then retry = math.ceil((period - (u % period)) / limit) end
  return {g, math.floor(u / period), math.ceil((cap - u) / limit), retry, 0, 0}
else
  local T = math.max(math.floor(period / limit), 1)
  local tau = T * (burst - 1)
  local tat = tonumber(redis.call('HGET', key, 'tat')) or now
  if tat < now then tat = now end
  if op == 'refund' then
    tat = math.max(tat - n * T, now)
    redis.call('HSET', key, 'tat', tat)
    return {0, 0, 0, 0, 0, 0}
  end
  local fits = 0
  if tat <= now + tau then fits = math.floor((now + tau - tat) / T) + 1 end
  local g = lease(fits)
  local ntat = tat + g * T
  if g > 0 then
    redis.call('HSET', key, 'tat', ntat)
    redis.call('PEXPIRE', key, math.ceil((ntat - now) / 1000) + 1000)
  end
  local rem = 0
  if ntat <= now + tau then rem = math.floor((now + tau - ntat) / T) + 1 end
  local retry = 0
  if g == 0 then retry = tat - tau - now end
  return {g, rem, ntat - now, retry, 0, 0}
end
"#;

/// A lease's answer: a grant, or Redis could not be asked.
pub type LeaseReply = Result<Grant, ()>;

enum Msg {
    Lease {
        key: String,
        rule: Rule,
        max: u64,
        takers: u64,
        reply: oneshot::Sender<LeaseReply>,
    },
    Refund {
        key: String,
        rule: Rule,
        n: u64,
        window: u64,
    },
}

/// The cores' handle on the limiter thread (in `context::Shared`).
pub struct RedisLink {
    pub spec: RedisSpec,
    tx: Mutex<Sender<Msg>>,
    up: Arc<AtomicBool>,
}

impl RedisLink {
    /// Starts the limiter thread; it connects in the background.
    pub fn start(spec: RedisSpec, stats: Arc<LimiterStats>) -> io::Result<Arc<RedisLink>> {
        let (tx, rx) = mpsc::channel();
        let up = Arc::new(AtomicBool::new(false));
        let thread_up = up.clone();
        let thread_spec = spec.clone();
        std::thread::Builder::new()
            .name("ringgate-limiter".into())
            .spawn(move || run(thread_spec, rx, thread_up, stats))?;
        Ok(Arc::new(RedisLink {
            spec,
            tx: Mutex::new(tx),
            up,
        }))
    }

    /// Whether Redis answered the last call (one relaxed load).
    pub fn up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// The Redis key of one budget.
    pub fn key(&self, limit: &str, key: u64) -> String {
        format!("{{{}:{limit}:{key:016x}}}", self.spec.key_prefix)
    }

    /// Asks for a lease; the answer comes on the returned receiver.
    pub fn lease(
        &self,
        key: String,
        rule: Rule,
        max: u64,
        takers: u64,
    ) -> oneshot::Receiver<LeaseReply> {
        let (reply, rx) = oneshot::channel();
        let msg = Msg::Lease {
            key,
            rule,
            max,
            takers,
            reply,
        };
        if let Err(mpsc::SendError(Msg::Lease { reply, .. })) = self.send(msg) {
            reply.send(Err(()));
        }
        rx
    }

    pub fn refund(&self, key: String, rule: Rule, n: u64, window: u64) {
        let _ = self.send(Msg::Refund {
            key,
            rule,
            n,
            window,
        });
    }

    fn send(&self, msg: Msg) -> Result<(), mpsc::SendError<Msg>> {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).send(msg)
    }
}

/// Most commands pipelined in one write.
const BATCH: usize = 256;

fn run(spec: RedisSpec, rx: Receiver<Msg>, up: Arc<AtomicBool>, stats: Arc<LimiterStats>) {
    let mut conn: Option<(Conn, String)> = None;
    let mut next_try = Instant::now();
    let mut logged_down = false;
    loop {
        if conn.is_none() && Instant::now() >= next_try {
            match connect(&spec) {
                Ok(c) => {
                    eprintln!(
                        "ringgate: redis {} reachable: rate limits lease from it",
                        spec.address
                    );
                    if logged_down {
                        stats.redis_recoveries.inc();
                    }
                    logged_down = false;
                    conn = Some(c);
                    up.store(true, Ordering::Relaxed);
                    stats.redis_up.set(1);
                }
                Err(e) => {
                    stats.redis_errors.inc();
                    if !logged_down {
                        down_log(&spec, &e);
                        logged_down = true;
                    }
                    next_try = Instant::now() + spec.retry_interval;
                }
            }
        }
        let wait = if conn.is_some() {
            Duration::from_secs(1)
        } else {
            next_try.saturating_duration_since(Instant::now())
        };
        let first = match rx.recv_timeout(wait.max(Duration::from_millis(1))) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let Some((c, sha)) = conn.as_mut() else {
            fail(batch);
            continue;
        };
        match execute(c, sha, &batch, &stats) {
            Ok(replies) => {
                for (msg, reply) in batch.into_iter().zip(replies) {
                    if let Msg::Lease { reply: tx, .. } = msg {
                        tx.send(reply);
                    }
                }
            }
            Err(e) => {
                stats.redis_errors.inc();
                conn = None;
                up.store(false, Ordering::Relaxed);
                stats.redis_up.set(0);
                down_log(&spec, &e);
                logged_down = true;
                next_try = Instant::now() + spec.retry_interval;
                fail(batch);
            }
        }
    }
}

fn down_log(spec: &RedisSpec, e: &io::Error) {
    let fallback = match spec.on_error {
        super::OnRedisError::Local => "local (each core enforces its share)",
        super::OnRedisError::Allow => "allow",
        super::OnRedisError::Deny => "deny (503)",
    };
    eprintln!(
        "ringgate: redis {} unreachable ({e}): rate limits fall back to on_redis_error = {fallback}; retrying every {:?}",
        spec.address, spec.retry_interval
    );
}

fn fail(batch: Vec<Msg>) {
    for msg in batch {
        if let Msg::Lease { reply, .. } = msg {
            reply.send(Err(()));
        }
    }
}

fn connect(spec: &RedisSpec) -> io::Result<(Conn, String)> {
    let mut c = Conn::connect(&spec.address, spec.connect_timeout, spec.command_timeout)?;
    match c.call(&[b"SCRIPT", b"LOAD", SCRIPT.as_bytes()])? {
        Reply::Bulk(Some(sha)) => Ok((c, String::from_utf8_lossy(&sha).into_owned())),
        other => Err(io::Error::other(format!("SCRIPT LOAD: {other:?}"))),
    }
}

fn args(msg: &Msg) -> Vec<String> {
    let (op, key, rule, n, extra) = match msg {
        Msg::Lease {
            key,
            rule,
            max,
            takers,
            ..
        } => ("take", key, rule, *max, *takers),
        Msg::Refund {
            key,
            rule,
            n,
            window,
        } => ("refund", key, rule, *n, *window),
    };
    vec![
        key.clone(),
        op.to_string(),
        rule.algorithm.as_str().to_string(),
        rule.limit.to_string(),
        (rule.period_ns / 1000).max(1).to_string(),
        rule.burst.max(1).to_string(),
        n.to_string(),
        extra.to_string(),
    ]
}

/// Runs a batch as one pipelined round trip of EVALSHA; a NOSCRIPT answer
/// (Redis restarted, or a failover to a replica without the script) is
/// retried with EVAL, which also loads the script again.
fn execute(
    c: &mut Conn,
    sha: &str,
    batch: &[Msg],
    stats: &LimiterStats,
) -> io::Result<Vec<LeaseReply>> {
    let command = |verb: &[u8], body: &[u8], msg: &Msg| -> Vec<Vec<u8>> {
        let mut v = vec![verb.to_vec(), body.to_vec(), b"1".to_vec()];
        v.extend(args(msg).into_iter().map(String::into_bytes));
        v
    };
    let pipeline: Vec<Vec<Vec<u8>>> = batch
        .iter()
        .map(|m| command(b"EVALSHA", sha.as_bytes(), m))
        .collect();
    send_owned(c, &pipeline)?;
    stats.redis_calls.inc();
    // Read the whole pipeline first; NOSCRIPT answers are retried after.
    let mut replies = Vec::with_capacity(batch.len());
    for _ in batch {
        replies.push(c.read()?);
    }
    let mut out = Vec::with_capacity(batch.len());
    for (msg, reply) in batch.iter().zip(replies) {
        let reply = match reply {
            Reply::Error(e) if e.starts_with("NOSCRIPT") => {
                send_owned(c, &[command(b"EVAL", SCRIPT.as_bytes(), msg)])?;
                stats.redis_calls.inc();
                c.read()?
            }
            r => r,
        };
        if let Reply::Error(e) = &reply {
            // A script error is a bug or a Redis that refuses scripts: the
            // lease falls back to on_redis_error; say so once.
            stats.redis_errors.inc();
            static LOGGED: std::sync::Once = std::sync::Once::new();
            LOGGED.call_once(|| eprintln!("ringgate: redis rate-limit script failed: {e}"));
        }
        out.push(grant_of(reply));
    }
    Ok(out)
}

fn send_owned(c: &mut Conn, commands: &[Vec<Vec<u8>>]) -> io::Result<()> {
    let borrowed: Vec<Vec<&[u8]>> = commands
        .iter()
        .map(|v| v.iter().map(|a| a.as_slice()).collect())
        .collect();
    c.send(&borrowed)
}

/// `{granted, remaining, reset_us, retry_us, window_us, valid_for_us}`.
fn grant_of(reply: Reply) -> LeaseReply {
    let Reply::Array(Some(items)) = reply else {
        return Err(());
    };
    let mut v = [0u64; 6];
    for (slot, item) in v.iter_mut().zip(&items) {
        match item {
            Reply::Int(n) => *slot = u64::try_from(*n).unwrap_or(0),
            _ => return Err(()),
        }
    }
    if items.len() < 6 {
        return Err(());
    }
    let us = |x: u64| x.saturating_mul(1000);
    Ok(Grant {
        granted: v[0],
        remaining: v[1],
        reset_ns: us(v[2]),
        retry_ns: us(v[3]),
        window: v[4],
        valid_for_ns: us(v[5]),
    })
}
