//! Signature packs: which observables mean which software product.
//!
//! Packs are TOML files under signatures/ (schema in [`schema`], documented in
//! signatures/README.md). [`load_dir`] reads every pack, checks it (unknown keys, one matcher per
//! rule, valid regexes and networks, unique ids, observables claimed by two products unless both
//! say `shared`, and every rule's own examples) and compiles the rules into [`Signatures`]: exact
//! and suffix name maps, regex sets, a network table and fingerprint maps, so a lookup is a few
//! hash probes and costs no allocation beyond the hits it reports.

pub mod flags;
pub mod kms_table;
pub mod schema;

use ipnet::IpNet;
use kms_table::KmsTable;
use regex::{Regex, RegexSet};
use schema::{Category, EvidenceKind, License, PackFile, RuleDef};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A problem in a pack, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when the problem concerns the whole file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// A product, as compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// Stable id.
    pub id: String,
    /// English name.
    pub name: String,
    /// Chinese name.
    pub name_zh: String,
    /// Vendor.
    pub vendor: String,
    /// Category.
    pub category: Category,
    /// Licence model.
    pub license: License,
    /// Names agent inventories use.
    pub aliases: Vec<String>,
}

/// What a rule looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// An exact name.
    Domain(String),
    /// A name and its subdomains.
    DomainSuffix(String),
    /// HTTP User-Agent regex.
    UserAgent(String),
    /// HTTP `host/path` regex.
    Url(String),
    /// Server address range and optional port.
    Cidr(IpNet, Option<u16>),
    /// Server port.
    Port(u16),
    /// JA3 hash.
    Ja3(String),
    /// JA4.
    Ja4(String),
    /// DHCP vendor class regex.
    DhcpVendorClass(String),
    /// DHCP parameter request list (option 55), comma-separated in the client's order.
    DhcpParams(String),
    /// TCP SYN shape: initial TTL and option order, `128:mss,nop,ws,nop,nop,sok`.
    TcpSyn(String),
    /// Regex over the edition a KMS client asked to activate.
    KmsEdition(String),
    /// A FlexLM vendor daemon name, lowercase.
    LicenseDaemon(String),
}

/// A rule, as compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Stable id.
    pub id: String,
    /// Index of its product in [`Signatures::products`].
    pub product: usize,
    /// Evidence kind.
    pub kind: EvidenceKind,
    /// What it matches.
    pub matcher: Matcher,
    /// Strength, 0 to 1.
    pub weight: f64,
    /// Where the fact comes from.
    pub source: String,
    /// Whether other products share the observable.
    pub shared: bool,
}

/// Something seen on the network that rules can match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observable<'a> {
    /// A DNS query name, TLS or QUIC SNI, HTTP Host or certificate name.
    Name(&'a str),
    /// An HTTP User-Agent.
    UserAgent(&'a str),
    /// An HTTP request as `host/path`.
    Url(&'a str),
    /// A server address and port.
    Server(IpAddr, u16),
    /// A JA3 hash.
    Ja3(&'a str),
    /// A JA4.
    Ja4(&'a str),
    /// A DHCP vendor class.
    DhcpVendorClass(&'a str),
    /// A DHCP parameter request list, comma-separated.
    DhcpParams(&'a str),
    /// A client's TCP SYN shape (`ittl:options`).
    TcpSyn(&'a str),
    /// The edition a KMS request names (its product group or application when the edition is
    /// not in the KMS table).
    KmsEdition(&'a str),
    /// A FlexLM vendor daemon a licence-manager message names.
    LicenseDaemon(&'a str),
}

/// A rule that matched, with the version its regex captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index in [`Signatures::rules`].
    pub rule: usize,
    /// The `version` capture, if the rule has one and it matched.
    pub version: Option<String>,
}

/// A regex family compiled once: a set to find candidates, the regexes for captures.
#[derive(Debug, Default)]
struct RegexIndex {
    set: Option<RegexSet>,
    regexes: Vec<Regex>,
    rules: Vec<usize>,
}

impl RegexIndex {
    fn build(items: Vec<(usize, Regex)>) -> Self {
        let set = RegexSet::new(items.iter().map(|(_, r)| r.as_str())).ok();
        let (rules, regexes) = items.into_iter().unzip();
        RegexIndex {
            set,
            regexes,
            rules,
        }
    }

    fn lookup(&self, text: &str, out: &mut Vec<Hit>) {
        let Some(set) = &self.set else { return };
        for i in set.matches(text).iter() {
            let version = self.regexes[i]
                .captures(text)
                .and_then(|c| c.name("version"))
                .map(|m| m.as_str().to_string());
            out.push(Hit {
                rule: self.rules[i],
                version,
            });
        }
    }
}

/// All packs, compiled.
#[derive(Debug, Default)]
pub struct Signatures {
    /// Every product, in pack order.
    pub products: Vec<Product>,
    /// Every rule, in pack order.
    pub rules: Vec<Rule>,
    exact: HashMap<String, Vec<usize>>,
    suffix: HashMap<String, Vec<usize>>,
    user_agents: RegexIndex,
    urls: RegexIndex,
    dhcp_vendor_classes: RegexIndex,
    kms_editions: RegexIndex,
    networks: Vec<(IpNet, Option<u16>, usize)>,
    ports: HashMap<u16, Vec<usize>>,
    ja3: HashMap<String, Vec<usize>>,
    ja4: HashMap<String, Vec<usize>>,
    dhcp_params: HashMap<String, Vec<usize>>,
    tcp_syn: HashMap<String, Vec<usize>>,
    license_daemons: HashMap<String, Vec<usize>>,
    /// Names of KMS ids, from the pack folder's KMS table.
    pub kms: KmsTable,
    /// Known unlicensed activation services, from the pack folder's flag files.
    pub flags: flags::FlagList,
}

impl Signatures {
    /// Appends to `out` every rule the observable matches.
    pub fn lookup(&self, obs: Observable<'_>, out: &mut Vec<Hit>) {
        let plain = |rules: Option<&Vec<usize>>, out: &mut Vec<Hit>| {
            out.extend(rules.into_iter().flatten().map(|&rule| Hit {
                rule,
                version: None,
            }));
        };
        match obs {
            Observable::Name(name) => {
                let name = name.trim_end_matches('.');
                let lowered;
                let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
                    lowered = name.to_ascii_lowercase();
                    lowered.as_str()
                } else {
                    name
                };
                plain(self.exact.get(name), out);
                let mut rest = name;
                loop {
                    plain(self.suffix.get(rest), out);
                    match rest.split_once('.') {
                        Some((_, tail)) if !tail.is_empty() => rest = tail,
                        _ => break,
                    }
                }
            }
            Observable::UserAgent(ua) => self.user_agents.lookup(ua, out),
            Observable::Url(url) => self.urls.lookup(url, out),
            Observable::DhcpVendorClass(vc) => self.dhcp_vendor_classes.lookup(vc, out),
            Observable::KmsEdition(e) => self.kms_editions.lookup(e, out),
            Observable::Server(ip, port) => {
                for (net, p, rule) in &self.networks {
                    if net.contains(&ip) && p.is_none_or(|p| p == port) {
                        out.push(Hit {
                            rule: *rule,
                            version: None,
                        });
                    }
                }
                plain(self.ports.get(&port), out);
            }
            Observable::Ja3(h) => plain(self.ja3.get(h), out),
            Observable::Ja4(h) => plain(self.ja4.get(h), out),
            Observable::DhcpParams(p) => plain(self.dhcp_params.get(p), out),
            Observable::TcpSyn(p) => plain(self.tcp_syn.get(p), out),
            Observable::LicenseDaemon(d) => {
                plain(self.license_daemons.get(&d.to_ascii_lowercase()), out)
            }
        }
    }

    /// The product of a rule.
    pub fn product_of(&self, rule: usize) -> Option<&Product> {
        self.rules
            .get(rule)
            .and_then(|r| self.products.get(r.product))
    }
}

/// Line (1-based) of a byte offset in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |t| t.matches('\n').count() + 1)
}

/// Rule and product ids: lowercase letters, digits, dots and dashes.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// Where each rule came from, for errors found after compiling.
struct Origin {
    file: PathBuf,
    line: usize,
}

/// Reads, checks and compiles every `*.toml` pack in `dir`. Returns every problem found, not
/// only the first.
pub fn load_dir(dir: &Path) -> Result<Signatures, Vec<SigError>> {
    let mut errors = Vec::new();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) => {
            return Err(vec![SigError {
                file: dir.to_path_buf(),
                line: 0,
                message: format!("cannot read directory: {e}"),
            }]);
        }
    };
    files.sort();
    let mut sigs = Signatures::default();
    let mut origins: Vec<Origin> = Vec::new();
    let mut examples: Vec<(usize, Vec<String>, Vec<String>)> = Vec::new();
    let mut product_ids: HashMap<String, (PathBuf, usize)> = HashMap::new();
    let mut rule_ids: HashMap<String, (PathBuf, usize)> = HashMap::new();
    let (mut uas, mut urls, mut dvcs, mut editions) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                errors.push(SigError {
                    file: file.clone(),
                    line: 0,
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        let pack: PackFile = match toml::from_str(&text) {
            Ok(p) => p,
            Err(e) => {
                let line = e.span().map_or(0, |s| line_of(&text, s.start));
                errors.push(SigError {
                    file: file.clone(),
                    line,
                    message: e.message().to_string(),
                });
                continue;
            }
        };
        let err = |errors: &mut Vec<SigError>, offset: usize, message: String| {
            errors.push(SigError {
                file: file.clone(),
                line: line_of(&text, offset),
                message,
            });
        };
        for product in pack.product {
            let p = product.into_inner();
            let pid = p.id.get_ref().clone();
            let pline = line_of(&text, p.id.span().start);
            if !valid_id(&pid) || !pid.contains('.') {
                err(
                    &mut errors,
                    p.id.span().start,
                    format!("product id {pid:?}: use vendor.product in [a-z0-9.-]"),
                );
            }
            if let Some((f, l)) = product_ids.insert(pid.clone(), (file.clone(), pline)) {
                err(
                    &mut errors,
                    p.id.span().start,
                    format!(
                        "product id {pid:?} is already defined at {}:{l}",
                        f.display()
                    ),
                );
            }
            let index = sigs.products.len();
            sigs.products.push(Product {
                id: pid.clone(),
                name: p.name,
                name_zh: p.name_zh,
                vendor: p.vendor,
                category: p.category,
                license: p.license,
                aliases: p.aliases,
            });
            for rule in p.rule {
                let at = rule.span().start;
                let r = rule.into_inner();
                let rid = r.id.get_ref().clone();
                let rline = line_of(&text, r.id.span().start);
                if !valid_id(&rid) || !rid.starts_with(&format!("{pid}.")) {
                    err(
                        &mut errors,
                        r.id.span().start,
                        format!(
                            "rule id {rid:?}: must start with the product id {pid:?} and a dot"
                        ),
                    );
                }
                if let Some((f, l)) = rule_ids.insert(rid.clone(), (file.clone(), rline)) {
                    err(
                        &mut errors,
                        r.id.span().start,
                        format!("rule id {rid:?} is already defined at {}:{l}", f.display()),
                    );
                }
                match compile_rule(&r) {
                    Ok(matcher) => {
                        let i = sigs.rules.len();
                        match &matcher {
                            Matcher::Domain(d) => sigs.exact.entry(d.clone()).or_default().push(i),
                            Matcher::DomainSuffix(d) => {
                                sigs.suffix.entry(d.clone()).or_default().push(i)
                            }
                            Matcher::UserAgent(re) => {
                                uas.push((i, Regex::new(re).expect("checked")))
                            }
                            Matcher::Url(re) => urls.push((i, Regex::new(re).expect("checked"))),
                            Matcher::DhcpVendorClass(re) => {
                                dvcs.push((i, Regex::new(re).expect("checked")))
                            }
                            Matcher::KmsEdition(re) => {
                                editions.push((i, Regex::new(re).expect("checked")))
                            }
                            Matcher::Cidr(net, port) => sigs.networks.push((*net, *port, i)),
                            Matcher::Port(p) => sigs.ports.entry(*p).or_default().push(i),
                            Matcher::Ja3(h) => sigs.ja3.entry(h.clone()).or_default().push(i),
                            Matcher::Ja4(h) => sigs.ja4.entry(h.clone()).or_default().push(i),
                            Matcher::DhcpParams(p) => {
                                sigs.dhcp_params.entry(p.clone()).or_default().push(i)
                            }
                            Matcher::TcpSyn(p) => {
                                sigs.tcp_syn.entry(p.clone()).or_default().push(i)
                            }
                            Matcher::LicenseDaemon(d) => {
                                sigs.license_daemons.entry(d.clone()).or_default().push(i)
                            }
                        }
                        sigs.rules.push(Rule {
                            id: rid,
                            product: index,
                            kind: r.kind,
                            matcher,
                            weight: r.weight,
                            source: r.source.clone(),
                            shared: r.shared,
                        });
                        origins.push(Origin {
                            file: file.clone(),
                            line: rline,
                        });
                        examples.push((i, r.matches.clone(), r.no_match.clone()));
                    }
                    Err(message) => err(&mut errors, at, format!("rule {rid}: {message}")),
                }
            }
        }
    }
    sigs.user_agents = RegexIndex::build(uas);
    sigs.urls = RegexIndex::build(urls);
    sigs.dhcp_vendor_classes = RegexIndex::build(dvcs);
    sigs.kms_editions = RegexIndex::build(editions);
    match KmsTable::load(dir) {
        Ok(table) => sigs.kms = table,
        Err(problems) => errors.extend(problems),
    }
    let ids: Vec<&str> = sigs.products.iter().map(|p| p.id.as_str()).collect();
    match flags::FlagList::load(dir, &ids) {
        Ok(list) => sigs.flags = list,
        Err(problems) => errors.extend(problems),
    }
    check_claims(&sigs, &origins, &mut errors);
    check_examples(&sigs, &origins, &examples, &mut errors);
    if errors.is_empty() {
        Ok(sigs)
    } else {
        Err(errors)
    }
}

/// Validates one rule and returns its matcher.
fn compile_rule(r: &RuleDef) -> Result<Matcher, String> {
    let mut found = Vec::new();
    let domain_ok = |d: &str| {
        !d.is_empty()
            && d.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
            && !d.starts_with('.')
            && !d.ends_with('.')
    };
    if let Some(d) = &r.domain {
        if !domain_ok(d) {
            return Err(format!(
                "domain {d:?}: lowercase name without leading or trailing dot"
            ));
        }
        found.push(Matcher::Domain(d.clone()));
    }
    if let Some(d) = &r.domain_suffix {
        if !domain_ok(d) {
            return Err(format!(
                "domain_suffix {d:?}: lowercase name without leading or trailing dot"
            ));
        }
        found.push(Matcher::DomainSuffix(d.clone()));
    }
    for (key, value, make) in [
        (
            "user_agent",
            &r.user_agent,
            Matcher::UserAgent as fn(String) -> Matcher,
        ),
        ("url", &r.url, Matcher::Url),
        (
            "dhcp_vendor_class",
            &r.dhcp_vendor_class,
            Matcher::DhcpVendorClass,
        ),
        ("kms_edition", &r.kms_edition, Matcher::KmsEdition),
    ] {
        if let Some(re) = value {
            Regex::new(re).map_err(|e| {
                let one_line = e
                    .to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                format!("{key}: invalid regex: {one_line}")
            })?;
            found.push(make(re.clone()));
        }
    }
    match (&r.cidr, r.port) {
        (Some(c), port) => {
            let net: IpNet = c.parse().map_err(|e| format!("cidr {c:?}: {e}"))?;
            found.push(Matcher::Cidr(net, port));
        }
        (None, Some(0)) => return Err("port 0".into()),
        (None, Some(p)) => found.push(Matcher::Port(p)),
        (None, None) => {}
    }
    if let Some(h) = &r.ja3 {
        if h.len() != 32
            || !h
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(format!("ja3 {h:?}: 32 lowercase hex digits"));
        }
        found.push(Matcher::Ja3(h.clone()));
    }
    if let Some(h) = &r.ja4 {
        if h.len() != 36 || h.matches('_').count() != 2 {
            return Err(format!("ja4 {h:?}: the a_b_c form, 36 characters"));
        }
        found.push(Matcher::Ja4(h.clone()));
    }
    if let Some(p) = &r.dhcp_params {
        let ok = !p.is_empty()
            && p.split(',')
                .all(|n| n.parse::<u8>().is_ok_and(|v| v.to_string() == n));
        if !ok {
            return Err(format!(
                "dhcp_params {p:?}: option codes 0-255, comma-separated, no spaces"
            ));
        }
        found.push(Matcher::DhcpParams(p.clone()));
    }
    if let Some(p) = &r.tcp_syn {
        let ok = p.split_once(':').is_some_and(|(ttl, opts)| {
            matches!(ttl, "32" | "64" | "128" | "255")
                && opts.split(',').all(|o| {
                    matches!(o, "mss" | "nop" | "ws" | "sok" | "sack" | "ts" | "eol")
                        || o.starts_with('?')
                })
        });
        if !ok {
            return Err(format!(
                "tcp_syn {p:?}: initial TTL (32, 64, 128, 255), a colon, options (mss,nop,ws,sok,sack,ts,eol,?N)"
            ));
        }
        found.push(Matcher::TcpSyn(p.clone()));
    }
    if let Some(d) = &r.flexlm_daemon {
        let ok = !d.is_empty()
            && d.len() <= 10
            && d.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err(format!(
                "flexlm_daemon {d:?}: a vendor daemon name, 1 to 10 letters, digits, _ or -"
            ));
        }
        found.push(Matcher::LicenseDaemon(d.to_ascii_lowercase()));
    }
    if !(0.0..=1.0).contains(&r.weight) {
        return Err(format!("weight {}: must be between 0 and 1", r.weight));
    }
    if r.source.trim().is_empty() {
        return Err("source is empty: say where the fact comes from".into());
    }
    if r.matches.is_empty() || r.no_match.is_empty() {
        return Err("needs at least one `match` and one `no_match` example".into());
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err("no matcher: one of domain, domain_suffix, user_agent, url, cidr, port, ja3, ja4, dhcp_vendor_class, dhcp_params, tcp_syn, kms_edition, flexlm_daemon".into()),
        _ => Err("more than one matcher: a rule matches one observable".into()),
    }
}

/// The observable an example string stands for, for a rule's matcher.
fn example_observable<'a>(m: &Matcher, text: &'a str) -> Option<Observable<'a>> {
    Some(match m {
        Matcher::Domain(_) | Matcher::DomainSuffix(_) => Observable::Name(text),
        Matcher::UserAgent(_) => Observable::UserAgent(text),
        Matcher::Url(_) => Observable::Url(text),
        Matcher::DhcpVendorClass(_) => Observable::DhcpVendorClass(text),
        Matcher::DhcpParams(_) => Observable::DhcpParams(text),
        Matcher::TcpSyn(_) => Observable::TcpSyn(text),
        Matcher::KmsEdition(_) => Observable::KmsEdition(text),
        Matcher::LicenseDaemon(_) => Observable::LicenseDaemon(text),
        Matcher::Ja3(_) => Observable::Ja3(text),
        Matcher::Ja4(_) => Observable::Ja4(text),
        Matcher::Port(_) => Observable::Server(IpAddr::from([192, 0, 2, 1]), text.parse().ok()?),
        Matcher::Cidr(..) => match text.rsplit_once(':') {
            Some((ip, port)) if !ip.contains(':') || ip.starts_with('[') => Observable::Server(
                ip.trim_matches(['[', ']']).parse().ok()?,
                port.parse().ok()?,
            ),
            _ => Observable::Server(text.parse().ok()?, 0),
        },
    })
}

fn check_examples(
    sigs: &Signatures,
    origins: &[Origin],
    examples: &[(usize, Vec<String>, Vec<String>)],
    errors: &mut Vec<SigError>,
) {
    let mut hits = Vec::new();
    for (rule, must, must_not) in examples {
        let r = &sigs.rules[*rule];
        let o = &origins[*rule];
        for (text, wanted) in must
            .iter()
            .map(|t| (t, true))
            .chain(must_not.iter().map(|t| (t, false)))
        {
            let Some(obs) = example_observable(&r.matcher, text) else {
                errors.push(SigError {
                    file: o.file.clone(),
                    line: o.line,
                    message: format!(
                        "rule {}: example {text:?} is not a valid observable for its matcher",
                        r.id
                    ),
                });
                continue;
            };
            hits.clear();
            sigs.lookup(obs, &mut hits);
            let matched = hits.iter().any(|h| h.rule == *rule);
            if matched != wanted {
                let verb = if wanted { "does not match" } else { "matches" };
                errors.push(SigError {
                    file: o.file.clone(),
                    line: o.line,
                    message: format!("rule {}: {verb} its example {text:?}", r.id),
                });
            }
        }
    }
}

/// An observable claimed by rules of two products must be declared shared by both.
fn check_claims(sigs: &Signatures, origins: &[Origin], errors: &mut Vec<SigError>) {
    let mut claims: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, r) in sigs.rules.iter().enumerate() {
        let key = match &r.matcher {
            Matcher::Domain(d) => format!("domain {d}"),
            Matcher::DomainSuffix(d) => format!("domain {d}"),
            Matcher::Ja3(h) => format!("ja3 {h}"),
            Matcher::Ja4(h) => format!("ja4 {h}"),
            Matcher::Port(p) => format!("port {p}"),
            Matcher::Cidr(n, p) => format!("cidr {n} {p:?}"),
            Matcher::DhcpParams(p) => format!("dhcp_params {p}"),
            Matcher::TcpSyn(p) => format!("tcp_syn {p}"),
            Matcher::LicenseDaemon(d) => format!("flexlm_daemon {d}"),
            Matcher::UserAgent(_)
            | Matcher::Url(_)
            | Matcher::DhcpVendorClass(_)
            | Matcher::KmsEdition(_) => continue,
        };
        claims.entry(key).or_default().push(i);
    }
    let mut keys: Vec<_> = claims.into_iter().collect();
    keys.sort();
    for (key, rules) in keys {
        let products: std::collections::BTreeSet<usize> =
            rules.iter().map(|&r| sigs.rules[r].product).collect();
        if products.len() < 2 {
            continue;
        }
        for &r in &rules {
            if !sigs.rules[r].shared {
                let others: Vec<&str> = rules
                    .iter()
                    .filter(|&&o| sigs.rules[o].product != sigs.rules[r].product)
                    .map(|&o| sigs.rules[o].id.as_str())
                    .collect();
                errors.push(SigError {
                    file: origins[r].file.clone(),
                    line: origins[r].line,
                    message: format!("rule {}: {key} is also claimed by {} (mark both `shared = true` if that is right)", sigs.rules[r].id, others.join(", ")),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[product]]
id = "microsoft.windows"
name = "Microsoft Windows"
name_zh = "微软 Windows"
vendor = "Microsoft"
category = "os"
license = "commercial"

[[product.rule]]
id = "microsoft.windows.activation"
kind = "activation"
domain_suffix = "sls.microsoft.com"
weight = 0.9
source = "https://learn.microsoft.com/example"
match = ["activation.sls.microsoft.com", "ACTIVATION.SLS.MICROSOFT.COM."]
no_match = ["sls.microsoft.com.example.net"]

[[product.rule]]
id = "microsoft.windows.ua"
kind = "update"
user_agent = 'Windows-Update-Agent/(?P<version>[0-9.]+)'
weight = 0.7
source = "https://learn.microsoft.com/example"
match = ["Windows-Update-Agent/10.0.10011.16384 Client-Protocol/2.50"]
no_match = ["curl/8.0"]

[[product.rule]]
id = "microsoft.windows.kms"
kind = "activation"
port = 1688
weight = 0.5
source = "https://learn.microsoft.com/example"
match = ["1688"]
no_match = ["443"]
"#;

    fn dir_with(files: &[(&str, &str)]) -> PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("wiretally-sig-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    /// The errors, with the temporary folder's path taken out.
    fn errors(files: &[(&str, &str)]) -> Vec<String> {
        let dir = dir_with(files);
        let prefix = format!("{}/", dir.display());
        load_dir(&dir)
            .unwrap_err()
            .iter()
            .map(|e| e.to_string().replace(&prefix, ""))
            .collect()
    }

    #[test]
    fn a_good_pack_compiles_and_matches() {
        let sigs = load_dir(&dir_with(&[("ms.toml", GOOD)])).unwrap();
        assert_eq!((sigs.products.len(), sigs.rules.len()), (1, 3));
        let mut hits = Vec::new();
        sigs.lookup(
            Observable::Name("validation-v2.sls.microsoft.com"),
            &mut hits,
        );
        assert_eq!(
            hits,
            [Hit {
                rule: 0,
                version: None
            }]
        );
        hits.clear();
        sigs.lookup(
            Observable::UserAgent("Windows-Update-Agent/10.0.1 Client-Protocol/2.5"),
            &mut hits,
        );
        assert_eq!(hits[0].version.as_deref(), Some("10.0.1"));
        hits.clear();
        sigs.lookup(
            Observable::Server("10.1.1.1".parse().unwrap(), 1688),
            &mut hits,
        );
        assert_eq!(
            sigs.product_of(hits[0].rule).unwrap().id,
            "microsoft.windows"
        );
        hits.clear();
        sigs.lookup(Observable::Name("microsoft.com"), &mut hits);
        assert!(hits.is_empty());
    }

    #[test]
    fn syntax_and_schema_errors_name_the_line() {
        let unknown = GOOD.replace("weight = 0.7", "weight = 0.7\nwieght = 1");
        let e = errors(&[("a.toml", &unknown)]);
        // toml reports an unknown key at the table that holds it: the rule's `[[product.rule]]`.
        assert!(
            e[0].starts_with("a.toml:24:") && e[0].contains("unknown field `wieght`"),
            "{e:?}"
        );
        let broken = "[[product]]\nid = \"x.y\"\nname = \n";
        assert!(errors(&[("b.toml", broken)])[0].starts_with("b.toml:3:"));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let bad = GOOD
            .replace(
                "Windows-Update-Agent/(?P<version>[0-9.]+)",
                "Windows-Update-Agent/(?P<version>[0-9.]+",
            )
            .replace("no_match = [\"443\"]", "no_match = [\"1688\"]")
            .replace("id = \"microsoft.windows.kms\"", "id = \"other.kms\"");
        let e = errors(&[("c.toml", &bad)]);
        assert!(
            e.iter().any(|m| m
                .starts_with("c.toml:19: rule microsoft.windows.ua: user_agent: invalid regex")
                && !m.contains('\n')),
            "{e:?}"
        );
        assert!(
            e.iter()
                .any(|m| m.contains("must start with the product id")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.contains("matches its example \"1688\"")),
            "{e:?}"
        );
    }

    #[test]
    fn duplicates_and_unshared_claims_are_errors() {
        let other = GOOD
            .replace("microsoft.windows", "microsoft.office")
            .replace("port = 1688", "port = 1689")
            .replace("[\"1688\"]", "[\"1689\"]");
        let e = errors(&[("a.toml", GOOD), ("b.toml", GOOD), ("c.toml", &other)]);
        assert!(
            e.iter()
                .any(|m| m.contains("product id \"microsoft.windows\" is already defined at")),
            "{e:?}"
        );
        assert!(
            e.iter().any(|m| m.starts_with("c.toml")
                && m.contains("domain sls.microsoft.com is also claimed by")),
            "{e:?}"
        );
        let shared_a = GOOD.replace("weight = 0.9", "weight = 0.9\nshared = true");
        let shared_c = other.replace("weight = 0.9", "weight = 0.9\nshared = true");
        assert!(load_dir(&dir_with(&[("a.toml", &shared_a), ("c.toml", &shared_c)])).is_ok());
    }

    #[test]
    fn rules_need_exactly_one_matcher_and_examples() {
        let two = GOOD.replace(
            "domain_suffix = \"sls.microsoft.com\"",
            "domain_suffix = \"sls.microsoft.com\"\ndomain = \"x.microsoft.com\"",
        );
        assert!(
            errors(&[("a.toml", &two)])
                .iter()
                .any(|m| m.contains("more than one matcher"))
        );
        let none = GOOD.replace("port = 1688\n", "");
        assert!(
            errors(&[("a.toml", &none)])
                .iter()
                .any(|m| m.contains("no matcher"))
        );
        let no_examples = GOOD.replace("no_match = [\"curl/8.0\"]", "");
        assert!(
            errors(&[("a.toml", &no_examples)])
                .iter()
                .any(|m| m.contains("needs at least one"))
        );
    }
}
