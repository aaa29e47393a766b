//! The flag list: known unlicensed activation services (public KMS hosts, fake licence servers),
//! read from the `flags/*.toml` files of a signatures folder.
//!
//! Each `[[service]]` names one `name` (exact, or with `suffix = true` every name under it too) or
//! one `address` (an address or network), its `kind` (`kms` or `license-server`), optionally the
//! `product` it pretends to license, a `source` and a `note`. Problems come back with file and
//! line, as for packs.

use super::{SigError, line_of};
use ipnet::IpNet;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Where flag files live inside a signatures folder.
pub const FLAGS_DIR: &str = "flags";

/// What a flagged service pretends to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKind {
    /// A KMS host activating Windows and Office without a campus licence.
    Kms,
    /// A licence server handing out licences it does not own.
    LicenseServer,
}

/// One flagged service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlaggedService {
    /// The name or address as written.
    pub indicator: String,
    /// What it pretends to be.
    pub kind: ServiceKind,
    /// The product it pretends to license, if one.
    pub product: Option<String>,
    /// Where it was seen.
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagFile {
    #[serde(default)]
    service: Vec<Spanned<ServiceDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceDef {
    name: Option<String>,
    #[serde(default)]
    suffix: bool,
    address: Option<String>,
    kind: ServiceKind,
    product: Option<String>,
    source: String,
    /// Read so the key is accepted; it documents the entry for people only.
    #[serde(default, rename = "note")]
    _note: String,
}

/// The compiled flag list.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FlagList {
    services: Vec<FlaggedService>,
    exact: HashMap<String, usize>,
    suffix: HashMap<String, usize>,
    networks: Vec<(IpNet, usize)>,
}

impl FlagList {
    /// The flagged service a DNS name belongs to.
    pub fn by_name(&self, name: &str) -> Option<&FlaggedService> {
        let name = name.trim_end_matches('.');
        let lowered;
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            lowered = name.to_ascii_lowercase();
            lowered.as_str()
        } else {
            name
        };
        if let Some(&i) = self.exact.get(name) {
            return self.services.get(i);
        }
        let mut rest = name;
        loop {
            if let Some(&i) = self.suffix.get(rest) {
                return self.services.get(i);
            }
            match rest.split_once('.') {
                Some((_, tail)) if !tail.is_empty() => rest = tail,
                _ => return None,
            }
        }
    }

    /// The flagged service an address belongs to.
    pub fn by_address(&self, ip: IpAddr) -> Option<&FlaggedService> {
        self.networks
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .and_then(|(_, i)| self.services.get(*i))
    }

    /// Services listed.
    pub fn len(&self) -> usize {
        self.services.len()
    }

    /// Whether nothing is listed.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// Reads every `flags/*.toml` of a signatures folder; `products` are the pack's product ids,
    /// which a service's `product` must name. No folder is an empty list.
    pub fn load(dir: &Path, products: &[&str]) -> Result<FlagList, Vec<SigError>> {
        let folder = dir.join(FLAGS_DIR);
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&folder) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FlagList::default()),
            Err(e) => {
                return Err(vec![SigError {
                    file: folder,
                    line: 0,
                    message: format!("cannot read directory: {e}"),
                }]);
            }
        };
        files.sort();
        let mut list = FlagList::default();
        let mut errors = Vec::new();
        for file in &files {
            match std::fs::read_to_string(file) {
                Ok(text) => list.add_file(file, &text, products, &mut errors),
                Err(e) => errors.push(SigError {
                    file: file.clone(),
                    line: 0,
                    message: format!("cannot read: {e}"),
                }),
            }
        }
        if errors.is_empty() {
            Ok(list)
        } else {
            Err(errors)
        }
    }

    fn add_file(&mut self, file: &Path, text: &str, products: &[&str], errors: &mut Vec<SigError>) {
        let parsed: FlagFile = match toml::from_str(text) {
            Ok(f) => f,
            Err(e) => {
                errors.push(SigError {
                    file: file.to_path_buf(),
                    line: e.span().map_or(0, |s| line_of(text, s.start)),
                    message: e.message().to_string(),
                });
                return;
            }
        };
        for spanned in parsed.service {
            let line = line_of(text, spanned.span().start);
            let s = spanned.into_inner();
            let mut err = |message: String| {
                errors.push(SigError {
                    file: file.to_path_buf(),
                    line,
                    message,
                })
            };
            if s.source.trim().is_empty() {
                err("source is empty: say where the service was seen".into());
                continue;
            }
            if let Some(p) = &s.product
                && !products.is_empty()
                && !products.contains(&p.as_str())
            {
                err(format!("product {p:?}: no signature pack defines it"));
                continue;
            }
            let index = self.services.len();
            let indicator = match (&s.name, &s.address) {
                (Some(name), None) => {
                    let lowered = name.to_ascii_lowercase();
                    if lowered.is_empty()
                        || lowered.starts_with('.')
                        || lowered.ends_with('.')
                        || lowered.contains(' ')
                    {
                        err(format!(
                            "name {name:?}: a host name without leading or trailing dot"
                        ));
                        continue;
                    }
                    let map = if s.suffix {
                        &mut self.suffix
                    } else {
                        &mut self.exact
                    };
                    if map.insert(lowered.clone(), index).is_some() {
                        err(format!("name {lowered:?} is listed twice"));
                        continue;
                    }
                    lowered
                }
                (None, Some(address)) => {
                    let net = address
                        .parse::<IpNet>()
                        .or_else(|_| address.parse::<IpAddr>().map(IpNet::from));
                    match net {
                        Ok(net) => self.networks.push((net, index)),
                        Err(_) => {
                            err(format!("address {address:?}: an address or network"));
                            continue;
                        }
                    }
                    if s.suffix {
                        err("suffix applies to names only".into());
                        continue;
                    }
                    address.clone()
                }
                _ => {
                    err("give exactly one of name and address".into());
                    continue;
                }
            };
            self.services.push(FlaggedService {
                indicator,
                kind: s.kind,
                product: s.product,
                source: s.source,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> Result<FlagList, Vec<SigError>> {
        let mut l = FlagList::default();
        let mut errors = Vec::new();
        l.add_file(Path::new("f.toml"), text, &["jetbrains.ides"], &mut errors);
        if errors.is_empty() {
            Ok(l)
        } else {
            Err(errors)
        }
    }

    #[test]
    fn names_suffixes_and_addresses() {
        let l = list(
            "[[service]]\nname = \"kms8.msguides.com\"\nkind = \"kms\"\nsource = \"s\"\n[[service]]\nname = \"jetbra.in\"\nsuffix = true\nkind = \"license-server\"\nproduct = \"jetbrains.ides\"\nsource = \"s\"\n[[service]]\naddress = \"192.0.2.0/28\"\nkind = \"kms\"\nsource = \"s\"\n",
        )
        .unwrap();
        assert_eq!(
            l.by_name("KMS8.msguides.com.").unwrap().kind,
            ServiceKind::Kms
        );
        assert!(
            l.by_name("x.kms8.msguides.com").is_none(),
            "exact names only"
        );
        assert_eq!(
            l.by_name("3.jetbra.in").unwrap().product.as_deref(),
            Some("jetbrains.ides")
        );
        assert!(l.by_address("192.0.2.9".parse().unwrap()).is_some());
        assert!(l.by_address("192.0.2.99".parse().unwrap()).is_none());
    }

    #[test]
    fn problems_have_lines() {
        let errors = list(
            "[[service]]\nname = \"a.example\"\nkind = \"kms\"\nsource = \"\"\n[[service]]\nname = \"b.example\"\naddress = \"192.0.2.1\"\nkind = \"kms\"\nsource = \"s\"\n[[service]]\naddress = \"nowhere\"\nkind = \"kms\"\nsource = \"s\"\n[[service]]\nname = \"c.example\"\nkind = \"kms\"\nproduct = \"no.such\"\nsource = \"s\"\n",
        )
        .unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 5, 10, 14], "{errors:?}");
        let bad_kind =
            list("[[service]]\nname = \"a\"\nkind = \"crack\"\nsource = \"s\"\n").unwrap_err();
        assert_eq!(bad_kind[0].line, 3);
    }
}
