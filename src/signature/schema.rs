//! The TOML schema of signature packs (documented for pack authors in signatures/README.md).
//!
//! Every table rejects unknown keys, so a misspelt key is an error with its line rather than a
//! silently ignored rule.

use serde::Deserialize;
use toml::Spanned;

/// One pack file: a list of products.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackFile {
    /// The products the file defines.
    #[serde(default)]
    pub product: Vec<Spanned<ProductDef>>,
}

/// The categories of the Ministry of Education's notice, plus `other`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Operating systems.
    Os,
    /// Office suites.
    Office,
    /// Antivirus.
    Antivirus,
    /// Industrial software: CAD/CAE/EDA, mathematics, statistics.
    Industrial,
    /// Everything else.
    Other,
}

impl Category {
    /// Every category, in the notice's order.
    pub const ALL: [Category; 5] = [
        Category::Os,
        Category::Office,
        Category::Antivirus,
        Category::Industrial,
        Category::Other,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Os => "os",
            Category::Office => "office",
            Category::Antivirus => "antivirus",
            Category::Industrial => "industrial",
            Category::Other => "other",
        }
    }
}

/// How a product is licensed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum License {
    /// Paid, perpetual or per version.
    Commercial,
    /// Paid by the period.
    Subscription,
    /// Free of charge.
    Freeware,
    /// Open-source licence.
    OpenSource,
    /// Free for education.
    EducationFree,
}

impl License {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            License::Commercial => "commercial",
            License::Subscription => "subscription",
            License::Freeware => "freeware",
            License::OpenSource => "open-source",
            License::EducationFree => "education-free",
        }
    }
}

/// What a rule's traffic says about the product.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// Product activation.
    Activation,
    /// A licence check or licence server.
    LicenseCheck,
    /// Update check or download.
    Update,
    /// Telemetry.
    Telemetry,
    /// Other use of the product's own services.
    Usage,
}

impl EvidenceKind {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Activation => "activation",
            EvidenceKind::LicenseCheck => "license-check",
            EvidenceKind::Update => "update",
            EvidenceKind::Telemetry => "telemetry",
            EvidenceKind::Usage => "usage",
        }
    }
}

/// A product as written in a pack.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductDef {
    /// Stable id, `vendor.product`.
    pub id: Spanned<String>,
    /// English name.
    pub name: String,
    /// Chinese name, for reports.
    pub name_zh: String,
    /// Vendor.
    pub vendor: String,
    /// Category.
    pub category: Category,
    /// Licence model.
    pub license: License,
    /// Names agent inventories use for the product.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The rules.
    #[serde(default)]
    pub rule: Vec<Spanned<RuleDef>>,
}

/// A rule as written in a pack: exactly one matcher key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Stable id, starting with the product id.
    pub id: Spanned<String>,
    /// Evidence kind.
    pub kind: EvidenceKind,
    /// Exact DNS name / SNI / HTTP Host / certificate name.
    pub domain: Option<String>,
    /// A name and everything under it.
    pub domain_suffix: Option<String>,
    /// Regular expression over the HTTP User-Agent; a `version` capture names the version.
    pub user_agent: Option<String>,
    /// Regular expression over `host/path` of HTTP requests.
    pub url: Option<String>,
    /// Server address range, optionally with `port`.
    pub cidr: Option<String>,
    /// TCP or UDP server port (alone, or with `cidr`).
    pub port: Option<u16>,
    /// JA3 hash of the client's hello.
    pub ja3: Option<String>,
    /// JA4 of the client's hello.
    pub ja4: Option<String>,
    /// Regular expression over the DHCP vendor class.
    pub dhcp_vendor_class: Option<String>,
    /// DHCP parameter request list (option 55) in the client's order, comma-separated.
    pub dhcp_params: Option<String>,
    /// TCP SYN shape of the client: initial TTL and option order, `128:mss,nop,ws,nop,nop,sok`.
    pub tcp_syn: Option<String>,
    /// Regular expression over the edition a KMS client asks to activate (its name in the KMS
    /// table, `Windows 10/11 Pro`); a `version` capture names the version.
    pub kms_edition: Option<String>,
    /// A FlexLM vendor daemon name (`MLM`, `adskflex`), matched case-insensitively.
    pub flexlm_daemon: Option<String>,
    /// Strength of the evidence, 0 to 1.
    pub weight: f64,
    /// Where the fact comes from (vendor documentation URL preferred).
    pub source: String,
    /// What the traffic is, in the pack author's words.
    #[serde(default)]
    pub note: String,
    /// Whether other products legitimately claim the same observable.
    #[serde(default)]
    pub shared: bool,
    /// Observables the rule must match.
    #[serde(default, rename = "match")]
    pub matches: Vec<String>,
    /// Observables the rule must not match.
    #[serde(default)]
    pub no_match: Vec<String>,
}
