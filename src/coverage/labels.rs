//! The report's words in English and Chinese, and the flat CSV and text forms of a
//! [`Report`](super::Report).

use super::{ProductRef, Report};
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

fn product_name(p: &ProductRef, lang: Lang) -> &str {
    match lang {
        Lang::Zh if !p.name_zh.is_empty() => &p.name_zh,
        _ => &p.name,
    }
}

/// The report as CSV: one row per finding, with a header row in `lang`. The Chinese form starts
/// with a UTF-8 byte-order mark, without which Excel reads UTF-8 as the local code page.
pub fn csv(report: &Report, lang: Lang) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
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
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    let bom = if lang == Lang::Zh { "\u{feff}" } else { "" };
    Ok(format!("{bom}{}", String::from_utf8_lossy(&bytes)))
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
