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

/// Products tracked per host; a campus PC shows a few dozen at most. When full, an unreported
/// product weaker than a new match gives its place up.
pub const MAX_PRODUCTS_PER_HOST: usize = 24;
/// Evidence records per product. There are five evidence kinds, so a full list always holds a
/// record that is not the strongest of its kind; a match that would raise the confidence takes
/// that record's place, and confidence stays exact.
pub const MAX_EVIDENCE_PER_PRODUCT: usize = 6;
/// Versions remembered per product (upgrades within a capture are few).
pub const MAX_VERSIONS_PER_PRODUCT: usize = 4;
/// What evidence from a shared observable counts for: it points at several products at once, so
/// it alone should not report a product (a 0.5 shared rule counts 0.3, under the default minimum).
pub const SHARED_DISCOUNT: f64 = 0.6;
/// Longest observable kept with a piece of evidence, in characters.
pub const MAX_OBSERVABLE_CHARS: usize = 80;

/// One rule's matches on one host.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

/// What a rule's evidence counts for: its weight, or [`SHARED_DISCOUNT`] of it when other
/// products claim its observable too.
fn counted_weight(sigs: &Signatures, rule: usize) -> f64 {
    sigs.rules.get(rule).map_or(0.0, |r| {
        if r.shared {
            r.weight * SHARED_DISCOUNT
        } else {
            r.weight
        }
    })
}

impl HostProduct {
    /// Confidence from the evidence kinds and the rules' weights; evidence from a rule whose
    /// observable other products claim too counts [`SHARED_DISCOUNT`] of its weight.
    pub fn confidence(&self, sigs: &Signatures) -> f64 {
        let mut strongest: Vec<(EvidenceKind, f64)> = Vec::new();
        for e in &self.evidence {
            let w = counted_weight(sigs, e.rule as usize);
            match strongest.iter_mut().find(|(k, _)| *k == e.kind) {
                Some((_, best)) => *best = best.max(w),
                None => strongest.push((e.kind, w)),
            }
        }
        1.0 - strongest.iter().map(|(_, w)| 1.0 - w).product::<f64>()
    }

    /// Where a new rule's evidence goes in a full list: the weakest record that is not the
    /// strongest of its kind once the new rule is counted, or `None` when the new rule would not
    /// raise the confidence (a rule of its kind at least as strong is already there).
    fn replaceable(&self, sigs: &Signatures, kind: EvidenceKind, weight: f64) -> Option<usize> {
        let weights: Vec<f64> = self
            .evidence
            .iter()
            .map(|e| counted_weight(sigs, e.rule as usize))
            .collect();
        let covered = self
            .evidence
            .iter()
            .zip(&weights)
            .any(|(e, &w)| e.kind == kind && w >= weight);
        if covered {
            return None;
        }
        // Redundant: a record of the new rule's kind (the new rule is stronger), or one that an
        // earlier or stronger record of its own kind already outweighs.
        let redundant = |i: usize| {
            let e = &self.evidence[i];
            e.kind == kind
                || self.evidence.iter().enumerate().any(|(j, f)| {
                    j != i
                        && f.kind == e.kind
                        && (weights[j] > weights[i] || (weights[j] == weights[i] && j < i))
                })
        };
        (0..self.evidence.len())
            .filter(|&i| redundant(i))
            .min_by(|&a, &b| weights[a].total_cmp(&weights[b]).then(b.cmp(&a)))
    }
}

/// What a new match changed, when it is worth a `software` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The product's confidence reached the reporting minimum; with the version this match
    /// captured, or else the latest one captured before.
    NewProduct(Option<String>),
    /// A reported product showed a version not seen before.
    NewVersion(String),
}

/// The products of one host.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HostSoftware {
    /// Products with their evidence.
    pub products: Vec<HostProduct>,
    /// Matches dropped, and unreported products given up for stronger ones, because a cap was
    /// reached.
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
        let weight = counted_weight(sigs, hit.rule);
        let index = match self.products.iter().position(|p| p.product == product) {
            Some(i) => i,
            None => {
                if self.products.len() >= MAX_PRODUCTS_PER_HOST {
                    // Full: the weakest unreported product gives its place up, if this match
                    // alone outweighs it (FlexLM's port, claimed by a dozen products, would
                    // otherwise fill the list with products that never reach the minimum).
                    // Computed as `confidence` would for this one record, so equal weights
                    // compare equal.
                    let alone = 1.0 - (1.0 - weight);
                    let weakest = self
                        .products
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| !p.reported)
                        .map(|(i, p)| (i, p.confidence(sigs)))
                        .filter(|&(_, c)| c < alone)
                        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                    self.dropped = self.dropped.saturating_add(1);
                    let (victim, _) = weakest?;
                    self.products.remove(victim);
                }
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
        };
        let p = &mut self.products[index];
        let evidence = || Evidence {
            kind: rule.kind,
            rule: rule_index,
            observable: truncated(observable, MAX_OBSERVABLE_CHARS).into(),
            count: 1,
            first_seen: ts,
            last_seen: ts,
        };
        if let Some(e) = p.evidence.iter_mut().find(|e| e.rule == rule_index) {
            e.count = e.count.saturating_add(1);
            e.first_seen = e.first_seen.min(ts);
            e.last_seen = e.last_seen.max(ts);
        } else if p.evidence.len() < MAX_EVIDENCE_PER_PRODUCT {
            p.evidence.reserve_exact(1);
            p.evidence.push(evidence());
        } else {
            self.dropped = self.dropped.saturating_add(1);
            if let Some(i) = p.replaceable(sigs, rule.kind, weight) {
                p.evidence[i] = evidence();
            }
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
            let version = match &hit.version {
                Some(v) => Some(truncated(v, MAX_OBSERVABLE_CHARS).to_string()),
                None => p.versions.last().cloned(),
            };
            return Some(Change::NewProduct(version));
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

    /// Marks reported exactly the products whose confidence reaches `min_confidence` now.
    pub fn recheck(&mut self, sigs: &Signatures, min_confidence: f64) {
        for p in &mut self.products {
            p.reported = p.confidence(sigs) >= min_confidence;
        }
    }

    /// Moves the records to another signature set: `map` gives each product's and rule's index
    /// in it. Evidence of a rule that left (or now belongs to another product) goes, and so does
    /// a product left without evidence; returns how many products went.
    pub fn remap(&mut self, map: &IndexMap) -> u32 {
        let before = self.products.len();
        self.products.retain_mut(|p| {
            let Some(product) = map.product(p.product) else {
                return false;
            };
            p.product = product;
            p.evidence.retain_mut(|e| match map.rule(e.rule) {
                Some((rule, owner)) if owner == product => {
                    e.rule = rule;
                    true
                }
                _ => false,
            });
            !p.evidence.is_empty()
        });
        let gone = (before - self.products.len()) as u32;
        self.dropped = self.dropped.saturating_add(gone);
        gone
    }
}

/// Where products and rules of one signature set sit in another, matched by id.
#[derive(Debug, Clone, Default)]
pub struct IndexMap {
    products: Vec<Option<u32>>,
    /// Per old rule: its new index and its new product's index.
    rules: Vec<Option<(u32, u32)>>,
}

impl IndexMap {
    /// Matches `old`'s products and rules to `new`'s by id.
    pub fn between(old: &Signatures, new: &Signatures) -> Self {
        Self::from_ids(
            old.products.iter().map(|p| p.id.as_str()),
            old.rules.iter().map(|r| r.id.as_str()),
            new,
        )
    }

    /// Maps indices that stand for ids (the i-th product id is index i) to `new`'s indices;
    /// records saved by id come back through this.
    pub fn from_ids<'a>(
        products: impl Iterator<Item = &'a str>,
        rules: impl Iterator<Item = &'a str>,
        new: &Signatures,
    ) -> Self {
        let product_ids: std::collections::HashMap<&str, u32> = new
            .products
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.as_str(), i as u32))
            .collect();
        let rule_ids: std::collections::HashMap<&str, (u32, u32)> = new
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), (i as u32, r.product as u32)))
            .collect();
        IndexMap {
            products: products.map(|id| product_ids.get(id).copied()).collect(),
            rules: rules.map(|id| rule_ids.get(id).copied()).collect(),
        }
    }

    fn product(&self, old: u32) -> Option<u32> {
        self.products.get(old as usize).copied().flatten()
    }

    fn rule(&self, old: u32) -> Option<(u32, u32)> {
        self.rules.get(old as usize).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A product `ex.{product}` with one rule per `(id, kind, domain, weight)`.
    fn product(product: &str, rules: &[(&str, &str, &str, f64)]) -> String {
        let mut pack = format!(
            "[[product]]\nid = \"ex.{product}\"\nname = \"Tool\"\nname_zh = \"工具\"\nvendor = \"Ex\"\ncategory = \"other\"\nlicense = \"commercial\"\n\n"
        );
        for (id, kind, domain, w) in rules {
            pack += &format!(
                "[[product.rule]]\nid = \"ex.{product}.{id}\"\nkind = \"{kind}\"\ndomain = \"{domain}\"\nweight = {w}\nsource = \"test\"\nmatch = [\"{domain}\"]\nno_match = [\"x.{domain}\"]\n\n"
            );
        }
        pack
    }

    fn load(pack: &str) -> Signatures {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("wiretally-software-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ex.toml"), pack).unwrap();
        crate::signature::load_dir(&dir).unwrap()
    }

    fn sigs() -> Signatures {
        load(&product(
            "tool",
            &[
                ("a", "update", "update-a.ex", 0.5),
                ("b", "update", "update-b.ex", 0.6),
                ("c", "activation", "act.ex", 0.5),
            ],
        ))
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
            Some(Change::NewProduct(None))
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
            Some(Change::NewProduct(Some("1.0".into())))
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

    #[test]
    fn a_version_seen_before_the_product_is_reported_is_reported_with_it() {
        let s = sigs();
        let mut sw = HostSoftware::default();
        let early = Hit {
            rule: rule(&s, "tool.a"),
            version: Some("0.9".into()),
        };
        assert_eq!(
            sw.record(&s, &early, "update-a.ex", Timestamp(1), 0.7),
            None
        );
        assert_eq!(
            sw.record(&s, &hit(rule(&s, "tool.c")), "act.ex", Timestamp(2), 0.7),
            Some(Change::NewProduct(Some("0.9".into())))
        );
    }

    /// Index of the rule `ex.{id}`.
    fn rule(s: &Signatures, id: &str) -> usize {
        let id = format!("ex.{id}");
        s.rules.iter().position(|r| r.id == id).unwrap()
    }

    #[test]
    fn weak_unreported_products_give_their_place_up() {
        let mut pack = String::new();
        for i in 0..MAX_PRODUCTS_PER_HOST {
            pack += &product(
                &format!("weak{i}"),
                &[("r", "usage", &format!("w{i}.ex"), 0.1)],
            );
        }
        pack += &product("strong", &[("r", "license-check", "lic.ex", 0.9)]);
        pack += &product("late", &[("r", "usage", "late.ex", 0.1)]);
        let s = load(&pack);
        let product_of = |r: usize| s.rules[r].product as u32;
        let mut sw = HostSoftware::default();
        let weak: Vec<usize> = (0..MAX_PRODUCTS_PER_HOST)
            .map(|i| rule(&s, &format!("weak{i}.r")))
            .collect();
        for &r in &weak {
            assert_eq!(sw.record(&s, &hit(r), "w.ex", Timestamp(1), 0.35), None);
        }
        assert_eq!(sw.products.len(), MAX_PRODUCTS_PER_HOST);
        let late = rule(&s, "late.r");
        assert_eq!(
            sw.record(&s, &hit(late), "late.ex", Timestamp(2), 0.35),
            None,
            "no stronger than the weakest: dropped"
        );
        assert!(sw.products.iter().all(|p| p.product != product_of(late)));
        assert_eq!(
            sw.record(&s, &hit(rule(&s, "strong.r")), "lic.ex", Timestamp(3), 0.35),
            Some(Change::NewProduct(None)),
            "a licence check outweighs an unreported usage hint"
        );
        assert_eq!(sw.products.len(), MAX_PRODUCTS_PER_HOST);
        assert!(
            sw.products.iter().all(|p| p.product != product_of(weak[0])),
            "the first of the weakest left"
        );
        assert_eq!(sw.dropped, 2);
    }

    #[test]
    fn a_full_evidence_list_still_takes_what_raises_confidence() {
        let telemetry: Vec<(String, String)> = (0..MAX_EVIDENCE_PER_PRODUCT)
            .map(|i| (format!("t{i}"), format!("t{i}.ex")))
            .collect();
        let mut spec: Vec<(&str, &str, &str, f64)> = telemetry
            .iter()
            .map(|(id, d)| (id.as_str(), "telemetry", d.as_str(), 0.3))
            .collect();
        spec.push(("act", "activation", "act.ex", 0.5));
        spec.push(("strong", "telemetry", "ts.ex", 0.4));
        let s = load(&product("os", &spec));
        let mut sw = HostSoftware::default();
        for (id, _) in &telemetry {
            let r = rule(&s, &format!("os.{id}"));
            assert_eq!(sw.record(&s, &hit(r), "t.ex", Timestamp(1), 0.35), None);
        }
        assert_eq!(
            sw.record(&s, &hit(rule(&s, "os.act")), "act.ex", Timestamp(2), 0.35),
            Some(Change::NewProduct(None)),
            "a new kind takes a redundant record's place"
        );
        let p = &sw.products[0];
        assert_eq!(p.evidence.len(), MAX_EVIDENCE_PER_PRODUCT);
        assert!((p.confidence(&s) - (1.0 - 0.7 * 0.5)).abs() < 1e-9);
        sw.record(&s, &hit(rule(&s, "os.strong")), "ts.ex", Timestamp(3), 0.35);
        assert!(
            (sw.products[0].confidence(&s) - (1.0 - 0.6 * 0.5)).abs() < 1e-9,
            "a stronger rule of a kind already seen counts"
        );
        sw.record(&s, &hit(rule(&s, "os.t0")), "t.ex", Timestamp(4), 0.35);
        assert!(
            (sw.products[0].confidence(&s) - (1.0 - 0.6 * 0.5)).abs() < 1e-9,
            "a weaker one does not displace it"
        );
    }
}
