//! Request filters between routing and forwarding (docs/ARCHITECTURE.md, request phases): IP rules
//! (`acl`), authentication (`auth`), authorization (`authz`) and the
//! identity handed to the upstream (`identity`).
//!
//! [`Filters`] is built once per config snapshot from the `[[auth_policy]]`,
//! `[[consumer]]`, route, listener and `[proxy]` settings; every problem is a
//! `ConfigError` naming its key path. Routes and listeners without rules cost
//! the proxy one `Option` check each.

pub mod acl;
pub mod auth;
pub mod authz;
mod build;
pub mod identity;
pub mod limit;

use std::cell::RefCell;
use std::net::IpAddr;

use self::acl::{CidrSet, IpRules};
use self::auth::apikey::KeyTable;
use self::auth::cache::TokenCache;
use self::auth::{AuthCtx, AuthError, AuthPolicy, Who};
use self::authz::Requirement;
use self::identity::{Identity, IdentityHeaders};
use crate::config::ConsumerRateLimit;
use crate::http::RequestHead;

/// A route's filters; routes without any have none at all.
#[derive(Default)]
pub struct RouteRules {
    pub ip: Option<IpRules>,
    /// Index into `Filters::policies`.
    pub auth: Option<usize>,
    pub scopes: Option<Requirement>,
    pub roles: Option<Requirement>,
    pub max_body_bytes: Option<u64>,
    pub max_header_bytes: Option<usize>,
    /// Credential headers removed before forwarding (`strip_credentials`).
    pub strip: Vec<Box<[u8]>>,
}

/// A consumer's data besides its identity, kept for other filters.
#[derive(Debug, Clone)]
pub struct ConsumerInfo {
    pub name: String,
    /// For the rate limiter (not enforced here).
    pub rate_limit: Option<ConsumerRateLimit>,
}

/// The runtime form of every filter setting in one snapshot.
#[derive(Default)]
pub struct Filters {
    pub policies: Vec<AuthPolicy>,
    /// Indexed like `[[consumer]]`.
    pub consumers: Vec<Identity>,
    pub consumer_info: Vec<ConsumerInfo>,
    keys: KeyTable,
    /// Indexed like `[[route]]`.
    routes: Vec<Option<Box<RouteRules>>>,
    /// Indexed like `[[listener]]`.
    listeners: Vec<Option<IpRules>>,
    trusted: CidrSet,
    pub identity: IdentityHeaders,
    /// Every request needs `admit` (a `client_ip` identity header).
    always: bool,
    token_cache_entries: usize,
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// 401; the reason says whether a credential was presented.
    Unauthenticated(AuthError),
    /// 403: `ip_denied`, `insufficient_scope`, `insufficient_role`.
    Forbidden(&'static str),
}

/// What a request that passed carries on to the upstream head.
pub struct Admission<'s> {
    pub who: Option<Who<'s>>,
    pub client: IpAddr,
}

impl<'s> Admission<'s> {
    /// Appends the identity header lines for the upstream.
    pub fn write_headers(&self, filters: &Filters, out: &mut Vec<u8>) {
        if let Some(who) = &self.who {
            out.extend_from_slice(&who.identity().headers);
        }
        filters.identity.write_client_ip(self.client, out);
    }
}

impl Filters {
    #[inline]
    pub fn route(&self, route: usize) -> Option<&RouteRules> {
        self.routes.get(route).and_then(|r| r.as_deref())
    }

    #[inline]
    pub fn listener(&self, listener: usize) -> Option<&IpRules> {
        self.listeners.get(listener).and_then(Option::as_ref)
    }

    /// Whether a request on this route and listener must go through `admit`.
    #[inline]
    pub fn needed(&self, route: Option<&RouteRules>, listener: Option<&IpRules>) -> bool {
        route.is_some() || listener.is_some() || self.always
    }

    /// IP rules, then authentication, then authorization, in that order.
    #[allow(clippy::too_many_arguments)]
    pub fn admit<'s>(
        &'s self,
        route: Option<&'s RouteRules>,
        listener: Option<&IpRules>,
        head: &RequestHead,
        buf: &[u8],
        peer: IpAddr,
        cache: &'s RefCell<TokenCache>,
        generation: u64,
    ) -> Result<Admission<'s>, Denial> {
        let client = acl::client_addr(peer, &self.trusted, xff_lines_rev(head, buf));
        if let Some(ip) = listener {
            if !ip.permits(client) {
                return Err(Denial::Forbidden("ip_denied"));
            }
        }
        let Some(rules) = route else {
            return Ok(Admission { who: None, client });
        };
        if let Some(ip) = &rules.ip {
            if !ip.permits(client) {
                return Err(Denial::Forbidden("ip_denied"));
            }
        }
        let Some(policy) = rules.auth else {
            return Ok(Admission { who: None, client });
        };
        let cx = AuthCtx {
            consumers: &self.consumers,
            keys: &self.keys,
            identity: &self.identity,
            cache,
            generation,
            cache_entries: self.token_cache_entries,
            now: unix_now(),
        };
        let who = self
            .policies
            .get(policy)
            .ok_or(Denial::Unauthenticated(AuthError::Missing))?
            .authenticate(policy, head, buf, &cx)
            .map_err(Denial::Unauthenticated)?;
        let id = who.identity();
        if let Some(req) = &rules.scopes {
            if !req.satisfied_by(&id.scopes) {
                return Err(Denial::Forbidden("insufficient_scope"));
            }
        }
        if let Some(req) = &rules.roles {
            if !req.satisfied_by(&id.roles) {
                return Err(Denial::Forbidden("insufficient_role"));
            }
        }
        Ok(Admission {
            who: Some(who),
            client,
        })
    }
}

/// `X-Forwarded-For` field values, last line first.
fn xff_lines_rev<'a>(head: &'a RequestHead, buf: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    head.headers
        .iter()
        .rev()
        .filter(move |h| h.name.get(buf).eq_ignore_ascii_case(b"x-forwarded-for"))
        .map(move |h| h.value.get(buf))
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
