//! The half-yearly software legalization report (教科信函〔2024〕83号): for one period, the
//! products seen per category and on how many hosts, how each host's Microsoft products were
//! activated, the activation and licence alerts, the ledger's seats against their use, and,
//! when agent inventories are given, the coverage cross-check.

use crate::coverage::labels::{
    Lang, alert_table, category, document as coverage_document, product_name,
};
use crate::coverage::{self, ProductRef};
use crate::event::Timestamp;
use crate::inventory::Inventory;
use crate::inventory::alerts::AlertKind;
use crate::inventory::hosts::Host;
use crate::output::{Cell, Chart, Document, Table};
use crate::signature::schema::{Category, EvidenceKind};
use std::collections::BTreeMap;

/// A half year: `2026H1` is January to June 2026, `2026H2` July to December.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The year.
    pub year: i32,
    /// 1 or 2.
    pub half: u8,
}

impl std::str::FromStr for Period {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?}: a period is written YYYYH1 or YYYYH2, such as 2026H2");
        let (year, half) = text.trim().split_once(['H', 'h']).ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        let half: u8 = half.parse().map_err(|_| bad())?;
        if !(1970..=9998).contains(&year) || !(1..=2).contains(&half) {
            return Err(bad());
        }
        Ok(Period { year, half })
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}H{}", self.year, self.half)
    }
}

impl Period {
    /// First microsecond of the period and first microsecond after it.
    pub fn bounds(&self) -> (Timestamp, Timestamp) {
        let at = |year: i32, month: u8| -> Timestamp {
            format!("{year:04}-{month:02}-01T00:00:00Z")
                .parse()
                .unwrap_or_default()
        };
        match self.half {
            1 => (at(self.year, 1), at(self.year, 7)),
            _ => (at(self.year, 7), at(self.year + 1, 1)),
        }
    }
}

/// How a host's Microsoft product was activated, as the network saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Activation {
    /// Against a server that is not the campus's (an `unauthorized_activation_server` alert).
    UnauthorizedServer,
    /// Through KMS, with no alert: the campus's KMS host.
    CampusKms,
    /// Through KMS, with no list of the campus's KMS hosts to judge the server by.
    KmsUnjudged,
    /// With the vendor's online activation or licensing service.
    Online,
    /// No activation or licence check seen in the period.
    NotSeen,
}

impl Activation {
    /// The label in a language.
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Activation::UnauthorizedServer, Lang::En) => "unauthorized server",
            (Activation::UnauthorizedServer, Lang::Zh) => "未授权服务器",
            (Activation::CampusKms, Lang::En) => "campus KMS",
            (Activation::CampusKms, Lang::Zh) => "校园KMS",
            (Activation::KmsUnjudged, Lang::En) => "KMS (no campus KMS list to judge it)",
            (Activation::KmsUnjudged, Lang::Zh) => "KMS（未配置校园KMS，无法判断）",
            (Activation::Online, Lang::En) => "online with the vendor",
            (Activation::Online, Lang::Zh) => "厂商在线激活",
            (Activation::NotSeen, Lang::En) => "not seen",
            (Activation::NotSeen, Lang::Zh) => "未见激活",
        }
    }
}

/// Whether a time span overlaps the period.
fn overlaps(first: Timestamp, last: Timestamp, (start, end): (Timestamp, Timestamp)) -> bool {
    last >= start && first < end
}

/// A machine of the period: its records (one per address it held), known by MAC where seen.
struct Machine<'a> {
    records: Vec<&'a Host>,
}

impl Machine<'_> {
    fn latest(&self) -> &Host {
        self.records
            .iter()
            .max_by_key(|h| h.last_seen)
            .copied()
            .unwrap_or(self.records[0])
    }
}

/// The period's host records grouped into machines by MAC (a PC that DHCP moved is one).
fn machines(inv: &Inventory, bounds: (Timestamp, Timestamp)) -> Vec<Machine<'_>> {
    let mut out: Vec<Machine> = Vec::new();
    let mut by_mac: std::collections::HashMap<crate::event::Mac, usize> =
        std::collections::HashMap::new();
    for h in inv.hosts.all() {
        if !overlaps(h.first_seen, h.ended.unwrap_or(h.last_seen), bounds) {
            continue;
        }
        match h.mac.and_then(|m| by_mac.get(&m).copied()) {
            Some(i) => out[i].records.push(h),
            None => {
                if let Some(m) = h.mac {
                    by_mac.insert(m, out.len());
                }
                out.push(Machine { records: vec![h] });
            }
        }
    }
    out
}

/// How a machine activated one product: an unauthorized-server alert about one of its records
/// in the period, about this product (or about no product in particular, when the product's
/// evidence is KMS), wins; then KMS evidence (a rule whose id names KMS), judged only when the
/// policy lists the campus's KMS hosts; then any activation or licence-check evidence.
fn activation(
    inv: &Inventory,
    machine: &Machine,
    product: &ProductRef,
    rules: &[String],
    bounds: (Timestamp, Timestamp),
) -> Activation {
    let kms = rules.iter().any(|r| r.contains(".kms"));
    let unauthorized = machine.records.iter().any(|h| {
        inv.alerts.of_host(h.ip).any(|a| {
            a.kind == AlertKind::UnauthorizedActivationServer
                && match a.product.as_deref() {
                    Some(p) => p == product.id,
                    None => kms,
                }
                && overlaps(a.first_seen, a.last_seen, bounds)
                && overlaps(
                    a.first_seen,
                    a.last_seen,
                    (
                        h.first_seen,
                        Timestamp(h.ended.unwrap_or(Timestamp::MAX).0.saturating_add(1)),
                    ),
                )
        })
    });
    if unauthorized {
        Activation::UnauthorizedServer
    } else if kms && inv.policy.authorized_kms.0.is_empty() {
        Activation::KmsUnjudged
    } else if kms {
        Activation::CampusKms
    } else if !rules.is_empty() {
        Activation::Online
    } else {
        Activation::NotSeen
    }
}

/// The report as a document; `coverage` adds the cross-check's tables.
pub fn document(
    inv: &Inventory,
    period: Period,
    lang: Lang,
    cover: Vec<(String, String)>,
    coverage: Option<&coverage::Report>,
) -> Document {
    let h = |en: &str, zh: &str| match lang {
        Lang::En => en.to_string(),
        Lang::Zh => zh.to_string(),
    };
    let t = |s: &str| Cell::Text(s.to_string());
    let sigs = &inv.signatures;
    let bounds = period.bounds();
    let machines = machines(inv, bounds);
    // Products per category with their machines; activation of Microsoft products per machine.
    // A product counts when some of its evidence falls in the period.
    let mut per_product: BTreeMap<(Category, String), (ProductRef, usize)> = BTreeMap::new();
    let mut per_category: BTreeMap<Category, usize> = BTreeMap::new();
    let mut activations = Vec::new();
    for machine in &machines {
        let mut products: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for host in &machine.records {
            for (p, _) in host.software.reported(sigs) {
                if !p
                    .evidence
                    .iter()
                    .any(|e| overlaps(e.first_seen, e.last_seen, bounds))
                {
                    continue;
                }
                let rules = products.entry(p.product as usize).or_default();
                rules.extend(
                    p.evidence
                        .iter()
                        .filter(|e| {
                            matches!(
                                e.kind,
                                EvidenceKind::Activation | EvidenceKind::LicenseCheck
                            ) && overlaps(e.first_seen, e.last_seen, bounds)
                        })
                        .filter_map(|e| sigs.rules.get(e.rule as usize).map(|r| r.id.clone())),
                );
            }
        }
        let mut categories = std::collections::BTreeSet::new();
        for (index, rules) in products {
            let Some(product) = sigs.products.get(index) else {
                continue;
            };
            let r = product_ref(product);
            categories.insert(product.category);
            per_product
                .entry((product.category, product.id.clone()))
                .or_insert((r.clone(), 0))
                .1 += 1;
            if product.vendor == "Microsoft"
                && matches!(product.category, Category::Os | Category::Office)
            {
                let how = activation(inv, machine, &r, &rules, bounds);
                activations.push((machine.latest(), r, how));
            }
        }
        for c in categories {
            *per_category.entry(c).or_default() += 1;
        }
    }
    let products_table = Table {
        title: h("Products", "软件产品"),
        headers: vec![
            h("category", "软件类别"),
            h("product id", "产品标识"),
            h("product", "产品"),
            h("vendor", "厂商"),
            h("machines", "主机数"),
        ],
        rows: per_product
            .values()
            .map(|(p, n)| {
                vec![
                    t(category(p.category, lang)),
                    t(&p.id),
                    t(product_name(p, lang)),
                    t(&p.vendor),
                    Cell::Number(*n as f64),
                ]
            })
            .collect(),
    };
    activations.sort_by(|a, b| (a.2, &a.1.id, a.0.ip).cmp(&(b.2, &b.1.id, b.0.ip)));
    let activation_table = Table {
        title: h("Microsoft activation", "微软产品激活方式"),
        headers: vec![
            h("activation", "激活方式"),
            h("product", "产品"),
            h("ip", "IP地址"),
            h("mac", "MAC地址"),
            h("hostname", "计算机名"),
        ],
        rows: activations
            .iter()
            .map(|(host, p, how)| {
                vec![
                    t(how.label(lang)),
                    t(product_name(p, lang)),
                    Cell::Text(host.ip.to_string()),
                    Cell::Text(host.mac.map(|m| m.to_string()).unwrap_or_default()),
                    Cell::Text(
                        host.names
                            .iter()
                            .map(|n| n.name.as_str())
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                ]
            })
            .collect(),
    };
    let alerts: Vec<_> = inv
        .alerts
        .all()
        .iter()
        .filter(|a| a.last_seen >= bounds.0 && a.first_seen < bounds.1)
        .cloned()
        .collect();
    let (servers, ledger): (Vec<_>, Vec<_>) = alerts.into_iter().partition(|a| {
        matches!(
            a.kind,
            AlertKind::UnauthorizedActivationServer | AlertKind::UnauthorizedLicenseServer
        )
    });
    let mut server_alerts = alert_table(&servers, lang);
    server_alerts.title = h("Unauthorized servers", "未授权激活与许可证服务器");
    let mut ledger_alerts = alert_table(&ledger, lang);
    ledger_alerts.title = h("Unlicensed and overused", "无许可证与超量使用");
    let seats = Table {
        title: h("Ledger seats (at generation time)", "台账许可数（生成时）"),
        headers: vec![
            h("product id", "产品标识"),
            h("seats", "许可数"),
            h("machines using it", "使用机器数"),
        ],
        rows: inv
            .seats()
            .into_iter()
            .map(|(id, seats, used)| {
                vec![t(id), Cell::Number(seats as f64), Cell::Number(used as f64)]
            })
            .collect(),
    };
    let mut tables = vec![
        products_table,
        activation_table,
        server_alerts,
        ledger_alerts,
        seats,
    ];
    let mut charts = vec![Chart {
        title: h(
            "Machines with a product of each category",
            "各类别软件的主机数",
        ),
        bars: Category::ALL
            .iter()
            .map(|c| {
                (
                    category(c.as_str(), lang).to_string(),
                    per_category.get(c).copied().unwrap_or(0) as f64,
                )
            })
            .collect(),
        unit: String::new(),
    }];
    if let Some(report) = coverage {
        let cross = coverage_document(report, lang, Vec::new());
        charts.extend(cross.charts);
        tables.extend(cross.tables.into_iter().filter(|t| {
            // The alerts are in this report already.
            t.title != alert_table(&[], lang).title
        }));
    }
    let (start, end) = bounds;
    let mut cover = cover;
    cover.insert(
        0,
        (
            h("period", "核查周期"),
            format!(
                "{period} ({} – {})",
                &start.to_string()[..10],
                &Timestamp(end.0 - 1).to_string()[..10]
            ),
        ),
    );
    cover.push((
        h("hosts seen in the period", "周期内发现主机数"),
        machines.len().to_string(),
    ));
    Document {
        title: h("Software legalization check", "软件正版化核查报告"),
        cover,
        charts,
        tables,
    }
}

/// A product as the report shows it.
fn product_ref(product: &crate::signature::Product) -> ProductRef {
    ProductRef {
        id: product.id.clone(),
        name: product.name.clone(),
        name_zh: product.name_zh.clone(),
        vendor: product.vendor.clone(),
        category: product.category.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_half_years() {
        let p: Period = "2026H2".parse().unwrap();
        let (start, end) = p.bounds();
        assert_eq!(start.to_string(), "2026-07-01T00:00:00.000000Z");
        assert_eq!(end.to_string(), "2027-01-01T00:00:00.000000Z");
        let p: Period = "2027h1".parse().unwrap();
        assert_eq!(p.bounds().1.to_string(), "2027-07-01T00:00:00.000000Z");
        for bad in ["2026H3", "2026", "H2", "26H2x", "2026Q2"] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }
}
