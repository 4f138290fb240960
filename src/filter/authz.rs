//! Authorization: does an authenticated identity hold what a route requires?

use crate::config::RequirementConfig;

/// A route's scope or role requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// At least one of these.
    Any(Vec<String>),
    /// Every one of these.
    All(Vec<String>),
}

impl Requirement {
    /// `{ any = [...] }` or `{ all = [...] }`, exactly one, not empty.
    pub fn from_config(c: &RequirementConfig) -> Result<Requirement, String> {
        match (&c.any, &c.all) {
            (Some(_), Some(_)) => Err("set either `any` or `all`, not both".into()),
            (None, None) => Err("set `any = [...]` or `all = [...]`".into()),
            (Some(v), None) | (None, Some(v)) if v.is_empty() => {
                Err("the list must not be empty (leave the requirement out instead)".into())
            }
            (Some(v), None) => Ok(Requirement::Any(v.clone())),
            (None, Some(v)) => Ok(Requirement::All(v.clone())),
        }
    }

    pub fn satisfied_by(&self, held: &[String]) -> bool {
        match self {
            Requirement::Any(want) => want.iter().any(|w| held.contains(w)),
            Requirement::All(want) => want.iter().all(|w| held.contains(w)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn any_and_all() {
        let any = Requirement::Any(held(&["read", "admin"]));
        assert!(any.satisfied_by(&held(&["x", "read"])));
        assert!(!any.satisfied_by(&held(&["x"])));
        assert!(!any.satisfied_by(&[]));
        let all = Requirement::All(held(&["read", "write"]));
        assert!(all.satisfied_by(&held(&["write", "read", "x"])));
        assert!(!all.satisfied_by(&held(&["read"])));
    }

    #[test]
    fn config_forms() {
        let c = |any: Option<&[&str]>, all: Option<&[&str]>| RequirementConfig {
            any: any.map(held),
            all: all.map(held),
        };
        assert_eq!(
            Requirement::from_config(&c(Some(&["a"]), None)),
            Ok(Requirement::Any(held(&["a"])))
        );
        assert_eq!(
            Requirement::from_config(&c(None, Some(&["a"]))),
            Ok(Requirement::All(held(&["a"])))
        );
        assert!(Requirement::from_config(&c(Some(&["a"]), Some(&["b"]))).is_err());
        assert!(Requirement::from_config(&c(None, None)).is_err());
        assert!(Requirement::from_config(&c(Some(&[]), None)).is_err());
    }
}
