//! The HTTP API's paths: [`parse`] turns a method, path and query string into a [`Request`]
//! (or the 4xx answer it deserves), and [`answer`] builds the JSON from the inventory on the
//! output thread. Shapes follow the inventory document `analyze --json` prints.

use crate::event::Mac;
use crate::inventory::Inventory;
use crate::inventory::alerts::AlertKind;
use crate::inventory::hosts::Host;
use crate::report;
use crate::signature::schema::Category;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// A response: status, media type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Answer {
    /// A JSON answer.
    pub fn json(status: u16, value: &serde_json::Value) -> Answer {
        Answer {
            status,
            content_type: "application/json",
            body: serde_json::to_string(value).unwrap_or_default() + "\n",
        }
    }

    /// A JSON error: `{"error": message}`.
    pub fn error(status: u16, message: &str) -> Answer {
        Answer::json(status, &serde_json::json!({ "error": message }))
    }

    /// A plain-text answer.
    pub fn text(status: u16, body: &str) -> Answer {
        Answer {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.to_string(),
        }
    }
}

/// Which hosts `/api/v1/hosts` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFilter {
    /// Hosts with a reported product of this category.
    pub category: Option<Category>,
    /// Hosts with this product reported (a product id of the packs).
    pub product: Option<String>,
    /// Hosts with an alert: of this kind, or of any kind when `Some(None)`.
    pub alert: Option<Option<AlertKind>>,
    /// Which of the matching hosts.
    pub page: Page,
}

/// Which slice of a long list an answer holds: `offset` and `limit` parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Items skipped.
    pub offset: usize,
    /// Items given at most.
    pub limit: usize,
}

/// Items per answer unless `limit` says otherwise, and the most it may say: an answer stays a
/// few megabytes however large the inventory.
pub const DEFAULT_LIMIT: usize = 500;
/// The largest `limit` accepted.
pub const MAX_LIMIT: usize = 2000;

impl Default for Page {
    fn default() -> Self {
        Page {
            offset: 0,
            limit: DEFAULT_LIMIT,
        }
    }
}

/// Reads `offset` and `limit`.
fn page(p: &BTreeMap<String, String>) -> Result<Page, Answer> {
    let number = |key: &str, default: usize, max: usize| -> Result<usize, Answer> {
        match p.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= max && (key != "limit" || *n > 0))
                .ok_or_else(|| {
                    Answer::error(400, &format!("{key} {v:?}: a whole number up to {max}"))
                }),
        }
    };
    Ok(Page {
        offset: number("offset", 0, usize::MAX)?,
        limit: number("limit", DEFAULT_LIMIT, MAX_LIMIT)?,
    })
}

/// How `/api/v1/hosts/{key}` names a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKey {
    /// By address.
    Ip(IpAddr),
    /// By MAC.
    Mac(Mac),
}

/// What a client asked for that the output thread answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `/metrics`.
    Metrics,
    /// A JSON path of the API.
    Api(ApiRequest),
}

/// The API's JSON paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiRequest {
    /// `/api/v1/hosts`.
    Hosts(HostFilter),
    /// `/api/v1/hosts/{ip or mac}`.
    Host(HostKey),
    /// `/api/v1/products`.
    Products,
    /// `/api/v1/alerts`, optionally of one kind.
    Alerts(Option<AlertKind>, Page),
    /// `/api/v1/coverage`: the cross-check against the configured agent inventories.
    Coverage,
}

/// Decodes `%XX` escapes and `+` in a query value; `None` when an escape is broken or the result
/// is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The query string's parameters; an error answer for a broken escape, a repeated or unknown
/// parameter.
fn parameters(query: &str, known: &[&str]) -> Result<BTreeMap<String, String>, Answer> {
    let mut out = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(key), Some(value)) = (percent_decode(key), percent_decode(value)) else {
            return Err(Answer::error(400, "malformed query string"));
        };
        if !known.contains(&key.as_str()) {
            return Err(Answer::error(
                400,
                &format!(
                    "unknown parameter {key:?}; this path takes: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        if out.insert(key.clone(), value).is_some() {
            return Err(Answer::error(
                400,
                &format!("parameter {key:?} given twice"),
            ));
        }
    }
    Ok(out)
}

/// An alert kind by its name.
fn alert_kind(name: &str) -> Option<AlertKind> {
    AlertKind::ALL.into_iter().find(|k| k.as_str() == name)
}

fn kinds() -> String {
    AlertKind::ALL.map(|k| k.as_str()).join(", ")
}

/// Reads a request; `Err` holds the 4xx answer for a wrong method, path or parameter.
/// `/healthz` and `/readyz` are answered by the HTTP side itself and are not handled here.
pub fn parse(method: &str, path: &str, query: &str) -> Result<Request, Answer> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let request = match segments.as_slice() {
        ["metrics"] => parameters(query, &[]).map(|_| Request::Metrics)?,
        ["api", "v1", "hosts"] => {
            let p = parameters(query, &["category", "product", "alert", "offset", "limit"])?;
            let category = match p.get("category") {
                None => None,
                Some(c) => Some(
                    Category::ALL
                        .into_iter()
                        .find(|k| k.as_str() == c)
                        .ok_or_else(|| {
                            Answer::error(
                                400,
                                &format!(
                                    "unknown category {c:?}; one of: {}",
                                    Category::ALL.map(|k| k.as_str()).join(", ")
                                ),
                            )
                        })?,
                ),
            };
            let alert = match p.get("alert").map(String::as_str) {
                None => None,
                Some("any") => Some(None),
                Some(k) => Some(Some(alert_kind(k).ok_or_else(|| {
                    Answer::error(
                        400,
                        &format!("unknown alert kind {k:?}; one of: any, {}", kinds()),
                    )
                })?)),
            };
            Request::Api(ApiRequest::Hosts(HostFilter {
                category,
                product: p.get("product").cloned(),
                alert,
                page: page(&p)?,
            }))
        }
        ["api", "v1", "hosts", key] => {
            parameters(query, &[])?;
            let key = percent_decode(key).unwrap_or_default();
            if let Ok(ip) = key.parse::<IpAddr>() {
                Request::Api(ApiRequest::Host(HostKey::Ip(ip)))
            } else if let Ok(mac) = key.parse::<Mac>() {
                Request::Api(ApiRequest::Host(HostKey::Mac(mac)))
            } else {
                return Err(Answer::error(
                    400,
                    &format!("{key:?} is neither an IP address nor a MAC address"),
                ));
            }
        }
        ["api", "v1", "coverage"] => {
            parameters(query, &[]).map(|_| Request::Api(ApiRequest::Coverage))?
        }
        ["api", "v1", "products"] => {
            parameters(query, &[]).map(|_| Request::Api(ApiRequest::Products))?
        }
        ["api", "v1", "alerts"] => {
            let p = parameters(query, &["kind", "offset", "limit"])?;
            let kind = match p.get("kind") {
                None => None,
                Some(k) => Some(alert_kind(k).ok_or_else(|| {
                    Answer::error(
                        400,
                        &format!("unknown alert kind {k:?}; one of: {}", kinds()),
                    )
                })?),
            };
            Request::Api(ApiRequest::Alerts(kind, page(&p)?))
        }
        _ => return Err(Answer::error(404, &format!("no such path: {path}"))),
    };
    if method != "GET" && method != "HEAD" {
        return Err(Answer::error(405, "only GET and HEAD"));
    }
    Ok(request)
}

/// Whether a host matches a filter.
fn matches(inv: &Inventory, h: &Host, f: &HostFilter) -> bool {
    let sigs = &inv.signatures;
    let reported = h.software.reported(sigs);
    let product_of = |index: u32| sigs.products.get(index as usize);
    if let Some(c) = f.category
        && !reported
            .iter()
            .any(|(p, _)| product_of(p.product).is_some_and(|x| x.category == c))
    {
        return false;
    }
    if let Some(id) = &f.product
        && !reported
            .iter()
            .any(|(p, _)| product_of(p.product).is_some_and(|x| &x.id == id))
    {
        return false;
    }
    match f.alert {
        None => true,
        Some(kind) => report::host_alerts(inv, h).any(|a| kind.is_none_or(|k| a.kind == k)),
    }
}

/// Answers an API request from the inventory (`/api/v1/coverage` is answered by
/// [`crate::serve::Served`], which keeps the cross-check).
pub fn answer(inv: &Inventory, request: &ApiRequest) -> Answer {
    match request {
        ApiRequest::Coverage => Answer::error(404, "no agent inventories are configured"),
        ApiRequest::Hosts(filter) => {
            if let Some(id) = &filter.product
                && !inv.signatures.products.iter().any(|p| &p.id == id)
            {
                return Answer::error(400, &format!("no product {id:?} in the signature packs"));
            }
            let matching: Vec<&Host> = inv
                .hosts
                .all()
                .into_iter()
                .filter(|h| matches(inv, h, filter))
                .collect();
            let total = matching.len();
            let hosts: Vec<serde_json::Value> = matching
                .into_iter()
                .skip(filter.page.offset)
                .take(filter.page.limit)
                .map(|h| report::host_json(inv, h))
                .collect();
            Answer::json(
                200,
                &serde_json::json!({
                    "hosts": hosts,
                    "total": total,
                    "offset": filter.page.offset,
                    "limit": filter.page.limit,
                }),
            )
        }
        ApiRequest::Host(key) => {
            let all = inv.hosts.all();
            let found = all.iter().rev().find(|h| match key {
                HostKey::Ip(ip) => h.ip == *ip && h.ended.is_none(),
                HostKey::Mac(mac) => h.mac == Some(*mac) && h.ended.is_none(),
            });
            let found = found.or_else(|| {
                all.iter()
                    .filter(|h| match key {
                        HostKey::Ip(ip) => h.ip == *ip,
                        HostKey::Mac(mac) => h.mac == Some(*mac),
                    })
                    .max_by_key(|h| h.last_seen)
            });
            match found {
                Some(h) => Answer::json(200, &report::host_json(inv, h)),
                None => Answer::error(404, "no such host"),
            }
        }
        ApiRequest::Products => Answer::json(200, &report::products_document(inv)),
        ApiRequest::Alerts(kind, page) => {
            let matching: Vec<_> = inv
                .alerts
                .all()
                .iter()
                .filter(|a| kind.is_none_or(|k| a.kind == k))
                .collect();
            let alerts: Vec<_> = matching.iter().skip(page.offset).take(page.limit).collect();
            Answer::json(
                200,
                &serde_json::json!({
                    "alerts": alerts,
                    "total": matching.len(),
                    "offset": page.offset,
                    "limit": page.limit,
                }),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Timestamp;
    use crate::inventory::InventoryLimits;
    use crate::inventory::hosts::HomeNets;
    use std::sync::Arc;

    /// An inventory holding hosts 10.0.0.1 to 10.0.0.n.
    fn inventory_of(n: u8) -> Inventory {
        let mut inv = Inventory::new(
            HomeNets::defaults(),
            InventoryLimits::default(),
            Arc::new(crate::signature::Signatures::default()),
            None,
        );
        let hosts = (1..=n)
            .map(|i| Host {
                ip: IpAddr::from([10, 0, 0, i]),
                mac: None,
                mac_from_dhcp: false,
                names: Vec::new(),
                first_seen: Timestamp(1),
                last_seen: Timestamp(2),
                ended: None,
                events: Default::default(),
                queried: Vec::new(),
                tls: Vec::new(),
                software: Default::default(),
                http: Vec::new(),
            })
            .collect();
        assert_eq!(inv.hosts.restore(hosts), 0);
        inv
    }

    #[test]
    fn pages_hold_their_slice_and_the_whole_count() {
        let inv = inventory_of(5);
        let Ok(Request::Api(page)) = parse("GET", "/api/v1/hosts", "offset=3&limit=2") else {
            panic!("not an API request");
        };
        let a = answer(&inv, &page);
        let doc: serde_json::Value = serde_json::from_str(&a.body).unwrap();
        assert_eq!(doc["total"], 5);
        let ips: Vec<&str> = doc["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["ip"].as_str().unwrap())
            .collect();
        assert_eq!(ips, ["10.0.0.4", "10.0.0.5"]);
        let Ok(Request::Api(past)) = parse("GET", "/api/v1/hosts", "offset=9") else {
            panic!("not an API request");
        };
        let doc: serde_json::Value = serde_json::from_str(&answer(&inv, &past).body).unwrap();
        assert_eq!(doc["total"], 5);
        assert!(doc["hosts"].as_array().unwrap().is_empty());
    }

    #[test]
    fn paths_and_parameters() {
        assert_eq!(parse("GET", "/metrics", ""), Ok(Request::Metrics));
        assert_eq!(
            parse("GET", "/api/v1/hosts/", "category=office&alert=any"),
            Ok(Request::Api(ApiRequest::Hosts(HostFilter {
                category: Some(Category::Office),
                product: None,
                alert: Some(None),
                page: Page::default(),
            })))
        );
        assert_eq!(
            parse(
                "GET",
                "/api/v1/hosts",
                "product=microsoft.office&alert=license_overuse&offset=20&limit=10"
            ),
            Ok(Request::Api(ApiRequest::Hosts(HostFilter {
                category: None,
                product: Some("microsoft.office".into()),
                alert: Some(Some(AlertKind::LicenseOveruse)),
                page: Page {
                    offset: 20,
                    limit: 10
                },
            })))
        );
        assert_eq!(
            parse("GET", "/api/v1/hosts/fe80::1", ""),
            Ok(Request::Api(ApiRequest::Host(HostKey::Ip(
                "fe80::1".parse().unwrap()
            ))))
        );
        assert_eq!(
            parse("GET", "/api/v1/hosts/02-00-00-00-00-01", ""),
            Ok(Request::Api(ApiRequest::Host(HostKey::Mac(Mac([
                2, 0, 0, 0, 0, 1
            ])))))
        );
        assert_eq!(
            parse("GET", "/api/v1/alerts", "kind=unlicensed_product"),
            Ok(Request::Api(ApiRequest::Alerts(
                Some(AlertKind::UnlicensedProduct),
                Page::default()
            )))
        );
    }

    #[test]
    fn wrong_requests_get_4xx() {
        let status = |m: &str, p: &str, q: &str| parse(m, p, q).unwrap_err().status;
        assert_eq!(status("GET", "/api/v2/hosts", ""), 404);
        assert_eq!(status("GET", "/", ""), 404);
        assert_eq!(status("POST", "/api/v1/hosts", ""), 405);
        assert_eq!(status("GET", "/api/v1/hosts", "category=games"), 400);
        assert_eq!(status("GET", "/api/v1/hosts", "colour=red"), 400);
        assert_eq!(status("GET", "/api/v1/hosts", "alert=any&alert=any"), 400);
        assert_eq!(status("GET", "/api/v1/hosts", "product=%zz"), 400);
        assert_eq!(status("GET", "/api/v1/hosts", "product=%ff%fe"), 400);
        assert_eq!(status("GET", "/api/v1/hosts/not-a-host", ""), 400);
        assert_eq!(status("GET", "/api/v1/alerts", "kind=all"), 400);
        assert_eq!(status("GET", "/metrics", "x=1"), 400);
        assert_eq!(status("GET", "/api/v1/hosts", "limit=0"), 400);
        assert_eq!(status("GET", "/api/v1/hosts", "limit=2001"), 400);
        assert_eq!(status("GET", "/api/v1/alerts", "offset=-1"), 400);
    }
}
