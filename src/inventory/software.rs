//! Which software products a host runs, from the signature rules its traffic matched.
//!
//! Each host keeps, per product, the evidence (rule, the observable that matched, how often,
//! first and last seen) and the versions rules captured. Confidence combines the evidence kinds:
//! per kind the strongest rule's weight counts once, and kinds combine as independent signs,
//! `1 − Π(1 − wₖ)`, so one DNS lookup is weaker than an activation and two independent kinds are
//! stronger than many hits of one. Everything per host is capped.

use crate::event::Timestamp;
use crate::inventory::hosts::truncated;
use crate::signature::schema::EvidenceKind;
use crate::signature::{Hit, Signatures};

/// Products tracked per host; a campus PC shows a few dozen at most.
pub const MAX_PRODUCTS_PER_HOST: usize = 24;
/// Evidence records per product: enough for the kinds that decide confidence (a fifth rule of a
/// kind already seen would not change it).
pub const MAX_EVIDENCE_PER_PRODUCT: usize = 4;
/// Versions remembered per product (upgrades within a capture are few).
pub const MAX_VERSIONS_PER_PRODUCT: usize = 4;
/// What evidence from a shared observable counts for: it points at several products at once, so
/// it alone should not report a product (a 0.5 shared rule counts 0.3, under the default minimum).
pub const SHARED_DISCOUNT: f64 = 0.6;
/// Longest observable kept with a piece of evidence, in characters.
pub const MAX_OBSERVABLE_CHARS: usize = 80;

/// One rule's matches on one host.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// What the rule's traffic shows.
    pub kind: EvidenceKind,
    /// Index of the rule in the signatures.
    pub rule: u32,
    /// The first observable that matched (a name, a User-Agent, `address:port`…).
    pub observable: Box<str>,
    /// Matches so far.
    pub count: u32,
    /// First match.
    pub first_seen: Timestamp,
    /// Last match.
    pub last_seen: Timestamp,
}

/// A product on a host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostProduct {
    /// Index of the product in the signatures.
    pub product: u32,
    /// Versions captured by rules.
    pub versions: Vec<String>,
    /// Evidence, at most [`MAX_EVIDENCE_PER_PRODUCT`].
    pub evidence: Vec<Evidence>,
    /// Whether the product has been reported (its confidence reached the minimum once).
    pub reported: bool,
}

impl HostProduct {
    /// Confidence from the evidence kinds and the rules' weights; evidence from a rule whose
    /// observable other products claim too counts [`SHARED_DISCOUNT`] of its weight.
    pub fn confidence(&self, sigs: &Signatures) -> f64 {
        let mut strongest: Vec<(EvidenceKind, f64)> = Vec::new();
        for e in &self.evidence {
            let w = sigs.rules.get(e.rule as usize).map_or(0.0, |r| {
                if r.shared {
                    r.weight * SHARED_DISCOUNT
                } else {
                    r.weight
                }
            });
            match strongest.iter_mut().find(|(k, _)| *k == e.kind) {
                Some((_, best)) => *best = best.max(w),
                None => strongest.push((e.kind, w)),
            }
        }
        1.0 - strongest.iter().map(|(_, w)| 1.0 - w).product::<f64>()
    }
}

/// What a new match changed, when it is worth a `software` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The product's confidence reached the reporting minimum.
    NewProduct,
    /// A reported product showed a version not seen before.
    NewVersion(String),
}

/// The products of one host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostSoftware {
    /// Products with their evidence.
    pub products: Vec<HostProduct>,
    /// Matches dropped because a cap was reached.
    pub dropped: u32,
}

impl HostSoftware {
    /// Records a rule match; returns what it changed for reporting.
    pub fn record(
        &mut self,
        sigs: &Signatures,
        hit: &Hit,
        observable: &str,
        ts: Timestamp,
        min_confidence: f64,
    ) -> Option<Change> {
        let rule = sigs.rules.get(hit.rule)?;
        let (product, rule_index) = (
            u32::try_from(rule.product).ok()?,
            u32::try_from(hit.rule).ok()?,
        );
        let index = match self.products.iter().position(|p| p.product == product) {
            Some(i) => i,
            None if self.products.len() < MAX_PRODUCTS_PER_HOST => {
                // Exact capacities: most hosts have a handful of products with one or two pieces
                // of evidence each, and Vec's growth would double what they hold.
                self.products.reserve_exact(1);
                self.products.push(HostProduct {
                    product,
                    versions: Vec::new(),
                    evidence: Vec::new(),
                    reported: false,
                });
                self.products.len() - 1
            }
            None => {
                self.dropped = self.dropped.saturating_add(1);
                return None;
            }
        };
        let p = &mut self.products[index];
        if let Some(e) = p.evidence.iter_mut().find(|e| e.rule == rule_index) {
            e.count = e.count.saturating_add(1);
            e.first_seen = e.first_seen.min(ts);
            e.last_seen = e.last_seen.max(ts);
        } else if p.evidence.len() < MAX_EVIDENCE_PER_PRODUCT {
            p.evidence.reserve_exact(1);
            p.evidence.push(Evidence {
                kind: rule.kind,
                rule: rule_index,
                observable: truncated(observable, MAX_OBSERVABLE_CHARS).into(),
                count: 1,
                first_seen: ts,
                last_seen: ts,
            });
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
        let mut new_version = None;
        if let Some(v) = &hit.version {
            let v = truncated(v, MAX_OBSERVABLE_CHARS);
            if !p.versions.iter().any(|x| x == v) && p.versions.len() < MAX_VERSIONS_PER_PRODUCT {
                p.versions.reserve_exact(1);
                p.versions.push(v.to_string());
                new_version = Some(v.to_string());
            }
        }
        if !p.reported && p.confidence(sigs) >= min_confidence {
            p.reported = true;
            return Some(Change::NewProduct);
        }
        match new_version {
            Some(v) if p.reported => Some(Change::NewVersion(v)),
            _ => None,
        }
    }

    /// Products at or above the minimum confidence, strongest first.
    pub fn reported<'a>(&'a self, sigs: &Signatures) -> Vec<(&'a HostProduct, f64)> {
        let mut v: Vec<(&HostProduct, f64)> = self
            .products
            .iter()
            .filter(|p| p.reported)
            .map(|p| (p, p.confidence(sigs)))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.product.cmp(&b.0.product)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sigs() -> Signatures {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("wiretally-software-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let rule = |id: &str, kind: &str, domain: &str, w: f64| {
            format!(
                "[[product.rule]]\nid = \"ex.tool.{id}\"\nkind = \"{kind}\"\ndomain = \"{domain}\"\nweight = {w}\nsource = \"test\"\nmatch = [\"{domain}\"]\nno_match = [\"x.{domain}\"]\n\n"
            )
        };
        let pack = format!(
            "[[product]]\nid = \"ex.tool\"\nname = \"Tool\"\nname_zh = \"工具\"\nvendor = \"Ex\"\ncategory = \"other\"\nlicense = \"commercial\"\n\n{}{}{}",
            rule("a", "update", "update-a.ex", 0.5),
            rule("b", "update", "update-b.ex", 0.6),
            rule("c", "activation", "act.ex", 0.5),
        );
        std::fs::write(dir.join("ex.toml"), pack).unwrap();
        crate::signature::load_dir(&dir).unwrap()
    }

    fn hit(rule: usize) -> Hit {
        Hit {
            rule,
            version: None,
        }
    }

    #[test]
    fn kinds_combine_and_repeats_do_not() {
        let s = sigs();
        let mut sw = HostSoftware::default();
        assert_eq!(
            sw.record(&s, &hit(0), "update-a.ex", Timestamp(1), 0.55),
            None,
            "0.5 is below 0.55"
        );
        for _ in 0..10 {
            sw.record(&s, &hit(0), "update-a.ex", Timestamp(2), 0.55);
        }
        assert_eq!(
            sw.products[0].confidence(&s),
            0.5,
            "many hits of one rule stay 0.5"
        );
        assert_eq!(sw.products[0].evidence[0].count, 11);
        assert_eq!(
            sw.record(&s, &hit(1), "update-b.ex", Timestamp(3), 0.55),
            Some(Change::NewProduct)
        );
        assert!(
            (sw.products[0].confidence(&s) - 0.6).abs() < 1e-9,
            "same kind: the strongest counts"
        );
        sw.record(&s, &hit(2), "act.ex", Timestamp(4), 0.55);
        assert!(
            (sw.products[0].confidence(&s) - 0.8).abs() < 1e-9,
            "1 - 0.4 * 0.5"
        );
    }

    #[test]
    fn versions_are_reported_once_and_capped() {
        let s = sigs();
        let mut sw = HostSoftware::default();
        let v = |n: usize| Hit {
            rule: 1,
            version: Some(format!("{n}.0")),
        };
        assert_eq!(
            sw.record(&s, &v(1), "update-b.ex", Timestamp(1), 0.5),
            Some(Change::NewProduct)
        );
        assert_eq!(
            sw.record(&s, &v(2), "update-b.ex", Timestamp(1), 0.5),
            Some(Change::NewVersion("2.0".into()))
        );
        assert_eq!(sw.record(&s, &v(2), "update-b.ex", Timestamp(1), 0.5), None);
        for n in 3..10 {
            sw.record(&s, &v(n), "update-b.ex", Timestamp(1), 0.5);
        }
        assert_eq!(sw.products[0].versions.len(), MAX_VERSIONS_PER_PRODUCT);
    }
}
