//! The report's words in English and Chinese, and the forms of a coverage [`super::Report`]: a
//! flat CSV, a text summary, and a [`Document`] for XLSX and HTML.

use super::{ProductRef, Report};
use crate::inventory::alerts::Alert;
use crate::output::{Cell, Chart, Document, Table};
use std::fmt::Write as _;

/// Language of labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// English.
    En,
    /// Chinese (简体中文).
    Zh,
}

/// A label in both languages.
struct Label {
    en: &'static str,
    zh: &'static str,
}

impl Label {
    fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::Zh => self.zh,
        }
    }
}

const SECTION: Label = Label {
    en: "section",
    zh: "类别",
};
const IP: Label = Label {
    en: "ip",
    zh: "IP地址",
};
const MAC: Label = Label {
    en: "mac",
    zh: "MAC地址",
};
const HOSTNAME: Label = Label {
    en: "hostname",
    zh: "计算机名",
};
const PRODUCT_ID: Label = Label {
    en: "product id",
    zh: "产品标识",
};
const PRODUCT: Label = Label {
    en: "product",
    zh: "产品",
};
const CATEGORY: Label = Label {
    en: "category",
    zh: "软件类别",
};
const DETAIL: Label = Label {
    en: "detail",
    zh: "说明",
};

const UNMANAGED: Label = Label {
    en: "unmanaged host",
    zh: "未纳管主机",
};
const STALE: Label = Label {
    en: "stale inventory host",
    zh: "台账中未见主机",
};
const MISSING: Label = Label {
    en: "missing from inventory",
    zh: "台账缺失软件",
};
const NOT_SEEN: Label = Label {
    en: "not seen on network",
    zh: "网络未见软件",
};
const UNMATCHED: Label = Label {
    en: "unmatched software",
    zh: "未识别软件",
};

/// A category's name in a language.
pub fn category(c: &str, lang: Lang) -> &str {
    match (lang, c) {
        (Lang::En, _) => c,
        (Lang::Zh, "os") => "操作系统",
        (Lang::Zh, "office") => "办公软件",
        (Lang::Zh, "antivirus") => "杀毒软件",
        (Lang::Zh, "industrial") => "工业软件",
        (Lang::Zh, _) => "其他",
    }
}

/// A product's name in a language (its Chinese name where the pack gives one).
pub fn product_name(p: &ProductRef, lang: Lang) -> &str {
    match lang {
        Lang::Zh if !p.name_zh.is_empty() => &p.name_zh,
        _ => &p.name,
    }
}

/// A cell as a spreadsheet may safely read it: text starting like a formula (`=`, `+`, `-`,
/// `@`, tab, carriage return) gets a leading `'`, so an inventory cannot smuggle a formula in.
fn safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// The report as CSV: one row per finding, with a header row in `lang`. The Chinese form starts
/// with a UTF-8 byte-order mark, without which Excel reads UTF-8 as the local code page.
pub fn csv(report: &Report, lang: Lang) -> Result<String, csv::Error> {
    let mut inner = csv::Writer::from_writer(Vec::new());
    inner.write_record([
        SECTION.get(lang),
        IP.get(lang),
        MAC.get(lang),
        HOSTNAME.get(lang),
        PRODUCT_ID.get(lang),
        PRODUCT.get(lang),
        CATEGORY.get(lang),
        DETAIL.get(lang),
    ])?;
    let text = |v: Option<String>| v.unwrap_or_default();
    let mut w = SafeWriter(&mut inner);
    for h in &report.unmanaged_hosts {
        w.write_record([
            UNMANAGED.get(lang),
            &h.ip.to_string(),
            &text(h.mac.map(|m| m.to_string())),
            &h.hostnames.join(" "),
            "",
            "",
            "",
            &h.products
                .iter()
                .map(|p| product_name(p, lang))
                .collect::<Vec<_>>()
                .join("; "),
        ])?;
    }
    for h in &report.stale_hosts {
        w.write_record([
            STALE.get(lang),
            &text(h.ip.map(|i| i.to_string())),
            &text(h.mac.map(|m| m.to_string())),
            &text(h.hostname.clone()),
            "",
            "",
            "",
            &h.source,
        ])?;
    }
    for h in &report.hosts {
        for (label, list) in [
            (&MISSING, &h.missing_from_inventory),
            (&NOT_SEEN, &h.not_seen_on_network),
        ] {
            for p in list {
                w.write_record([
                    label.get(lang),
                    &h.ip.to_string(),
                    &text(h.mac.map(|m| m.to_string())),
                    &text(h.hostname.clone()),
                    &p.id,
                    product_name(p, lang),
                    category(p.category, lang),
                    &h.source,
                ])?;
            }
        }
    }
    for u in &report.unmatched_software {
        w.write_record([
            UNMATCHED.get(lang),
            "",
            "",
            "",
            "",
            &u.name,
            "",
            &format!("{} ({})", text(u.publisher.clone()), u.hosts),
        ])?;
    }
    let bytes = inner.into_inner().map_err(|e| e.into_error())?;
    let bom = if lang == Lang::Zh { "\u{feff}" } else { "" };
    Ok(format!("{bom}{}", String::from_utf8_lossy(&bytes)))
}

/// A CSV writer whose every cell goes through [`safe`].
struct SafeWriter<'a>(&'a mut csv::Writer<Vec<u8>>);

impl SafeWriter<'_> {
    fn write_record<'b>(&mut self, cells: impl IntoIterator<Item = &'b str>) -> csv::Result<()> {
        self.0.write_record(cells.into_iter().map(safe))
    }
}

/// A short text summary for the terminal.
pub fn summary(report: &Report) -> String {
    let mut s = String::new();
    let ratio = |r: &super::Ratio| match r.ratio {
        Some(x) => format!("{:.1} % ({} of {})", x * 100.0, r.covered, r.total),
        None => "no data".to_string(),
    };
    let _ = writeln!(
        s,
        "network hosts covered by an agent inventory: {}",
        ratio(&report.coverage.overall)
    );
    for (c, r) in &report.coverage.by_category {
        let _ = writeln!(
            s,
            "  {c:<10} products seen on the network and recorded by an agent: {}",
            ratio(r)
        );
    }
    let _ = writeln!(
        s,
        "unmanaged hosts (no inventory record): {}",
        report.unmanaged_hosts.len()
    );
    for h in &report.unmanaged_hosts {
        let _ = writeln!(
            s,
            "  {}  {}  {}",
            h.ip,
            h.mac.map(|m| m.to_string()).unwrap_or_default(),
            h.hostnames.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "inventory hosts never seen: {}",
        report.stale_hosts.len()
    );
    for h in &report.stale_hosts {
        let _ = writeln!(
            s,
            "  {}  {}  {}",
            h.hostname.as_deref().unwrap_or("-"),
            h.mac.map(|m| m.to_string()).unwrap_or_default(),
            h.ip.map(|i| i.to_string()).unwrap_or_default()
        );
    }
    for h in &report.hosts {
        if h.missing_from_inventory.is_empty() {
            continue;
        }
        let ids: Vec<&str> = h
            .missing_from_inventory
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        let _ = writeln!(
            s,
            "{} ({}, by {}): missing from its inventory: {}",
            h.ip,
            h.hostname.as_deref().unwrap_or("-"),
            h.matched_by,
            ids.join(", ")
        );
    }
    let _ = writeln!(
        s,
        "software names no pack knows: {}; alerts: {}; inventory rows skipped: {}",
        report.unmatched_software.len(),
        report.alerts.len(),
        report.problems.len()
    );
    s
}

/// A cell of text.
fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

/// The alert tables' header row and rows, shared with the half-yearly report.
pub fn alert_table(alerts: &[Alert], lang: Lang) -> Table {
    let h = |en: &str, zh: &str| match lang {
        Lang::En => en.to_string(),
        Lang::Zh => zh.to_string(),
    };
    Table {
        title: h("Alerts", "告警"),
        headers: vec![
            h("kind", "告警类型"),
            h("severity", "级别"),
            h("host", "主机"),
            h("server", "服务器"),
            h("product", "产品"),
            h("first seen", "首次发现"),
            h("last seen", "最近发现"),
            h("count", "次数"),
            h("reason", "原因"),
        ],
        rows: alerts
            .iter()
            .map(|a| {
                let server = a.server.as_ref().map_or(String::new(), |s| {
                    s.name
                        .clone()
                        .or_else(|| s.address.map(|ip| ip.to_string()))
                        .unwrap_or_default()
                });
                vec![
                    t(alert_kind(a.kind.as_str(), lang)),
                    t(serde_json::to_value(a.severity)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()),
                    t(a.host.ip.map(|ip| ip.to_string()).unwrap_or_default()),
                    t(server),
                    t(a.product.clone().unwrap_or_default()),
                    t(a.first_seen.to_string()),
                    t(a.last_seen.to_string()),
                    Cell::Number(a.count as f64),
                    t(a.reason.clone()),
                ]
            })
            .collect(),
    }
}

/// An alert kind's name in a language.
pub fn alert_kind(kind: &str, lang: Lang) -> &str {
    match (lang, kind) {
        (Lang::En, _) => kind,
        (Lang::Zh, "unauthorized_activation_server") => "未授权激活服务器",
        (Lang::Zh, "unauthorized_license_server") => "未授权许可证服务器",
        (Lang::Zh, "unlicensed_product") => "无许可证软件",
        (Lang::Zh, "license_overuse") => "许可证超量使用",
        (Lang::Zh, other) => other,
    }
}

/// The report as a document for XLSX and HTML: coverage by category (also charted), then one
/// table per finding; `cover` holds the lines of its first page.
pub fn document(report: &Report, lang: Lang, cover: Vec<(String, String)>) -> Document {
    let h = |en: &str, zh: &str| match lang {
        Lang::En => en.to_string(),
        Lang::Zh => zh.to_string(),
    };
    let mac = |m: Option<crate::event::Mac>| m.map(|m| m.to_string()).unwrap_or_default();
    let mut coverage_rows = vec![vec![
        t(h(
            "all hosts (with an agent inventory)",
            "全部主机（已纳管）",
        )),
        Cell::Number(report.coverage.overall.covered as f64),
        Cell::Number(report.coverage.overall.total as f64),
        report
            .coverage
            .overall
            .ratio
            .map_or(t("-"), |r| Cell::Number((r * 1000.0).round() / 10.0)),
    ]];
    let mut bars = Vec::new();
    for (c, r) in &report.coverage.by_category {
        coverage_rows.push(vec![
            t(category(c, lang)),
            Cell::Number(r.covered as f64),
            Cell::Number(r.total as f64),
            r.ratio
                .map_or(t("-"), |x| Cell::Number((x * 1000.0).round() / 10.0)),
        ]);
        if let Some(x) = r.ratio {
            bars.push((category(c, lang).to_string(), (x * 1000.0).round() / 10.0));
        }
    }
    let product_rows = |pick: fn(&super::MatchedHost) -> &Vec<ProductRef>| -> Vec<Vec<Cell>> {
        report
            .hosts
            .iter()
            .flat_map(|host| {
                pick(host).iter().map(move |p| {
                    vec![
                        t(host.ip.to_string()),
                        t(mac(host.mac)),
                        t(host.hostname.clone().unwrap_or_default()),
                        t(p.id.clone()),
                        t(product_name(p, lang)),
                        t(category(p.category, lang)),
                        t(host.matched_by),
                    ]
                })
            })
            .collect()
    };
    let product_headers = vec![
        IP.get(lang).to_string(),
        MAC.get(lang).to_string(),
        HOSTNAME.get(lang).to_string(),
        PRODUCT_ID.get(lang).to_string(),
        PRODUCT.get(lang).to_string(),
        CATEGORY.get(lang).to_string(),
        h("matched by", "匹配方式"),
    ];
    Document {
        title: h("Software coverage cross-check", "软件资产覆盖核查"),
        cover,
        charts: vec![Chart {
            title: h(
                "Products seen on the network that agents recorded, by category",
                "网络发现的软件中已登记的比例（按类别）",
            ),
            bars,
            unit: "%".into(),
        }],
        tables: vec![
            Table {
                title: h("Coverage", "覆盖率"),
                headers: vec![
                    CATEGORY.get(lang).to_string(),
                    h("covered", "已覆盖"),
                    h("total", "总数"),
                    h("ratio %", "比例 %"),
                ],
                rows: coverage_rows,
            },
            Table {
                title: UNMANAGED.get(lang).to_string(),
                headers: vec![
                    IP.get(lang).to_string(),
                    MAC.get(lang).to_string(),
                    HOSTNAME.get(lang).to_string(),
                    h("products seen", "发现的软件"),
                ],
                rows: report
                    .unmanaged_hosts
                    .iter()
                    .map(|u| {
                        vec![
                            t(u.ip.to_string()),
                            t(mac(u.mac)),
                            t(u.hostnames.join(" ")),
                            t(u.products
                                .iter()
                                .map(|p| product_name(p, lang))
                                .collect::<Vec<_>>()
                                .join("; ")),
                        ]
                    })
                    .collect(),
            },
            Table {
                title: STALE.get(lang).to_string(),
                headers: vec![
                    HOSTNAME.get(lang).to_string(),
                    MAC.get(lang).to_string(),
                    IP.get(lang).to_string(),
                    h("inventory file", "台账文件"),
                ],
                rows: report
                    .stale_hosts
                    .iter()
                    .map(|s| {
                        vec![
                            t(s.hostname.clone().unwrap_or_default()),
                            t(mac(s.mac)),
                            t(s.ip.map(|i| i.to_string()).unwrap_or_default()),
                            t(s.source.clone()),
                        ]
                    })
                    .collect(),
            },
            Table {
                title: MISSING.get(lang).to_string(),
                headers: product_headers.clone(),
                rows: product_rows(|h| &h.missing_from_inventory),
            },
            Table {
                title: NOT_SEEN.get(lang).to_string(),
                headers: product_headers,
                rows: product_rows(|h| &h.not_seen_on_network),
            },
            Table {
                title: UNMATCHED.get(lang).to_string(),
                headers: vec![
                    h("software name", "软件名称"),
                    h("publisher", "发行商"),
                    h("hosts", "主机数"),
                ],
                rows: report
                    .unmatched_software
                    .iter()
                    .map(|u| {
                        vec![
                            t(u.name.clone()),
                            t(u.publisher.clone().unwrap_or_default()),
                            Cell::Number(u.hosts as f64),
                        ]
                    })
                    .collect(),
            },
            alert_table(&report.alerts, lang),
        ],
    }
}
