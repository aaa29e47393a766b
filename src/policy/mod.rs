//! The campus's activation policy and licence ledger (台账): which KMS hosts and licence servers
//! are its own, and which products it holds licences for, with how many seats.
//!
//! [`config::parse`] builds them from the configuration file (and the ledger's optional CSV file);
//! the inventory asks [`Policy`] whether a server is authorized and what the ledger says.

pub mod config;

use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;

/// One entry of an authorized-server list: a name, an address or a network, and optionally a
/// port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEntry {
    /// A DNS name (matched case-insensitively, without a trailing dot).
    Name(String, Option<u16>),
    /// An address or network.
    Net(IpNet, Option<u16>),
}

impl ServerEntry {
    /// Reads `name`, `address`, `cidr` or any of them with `:port` (`[v6]:port` for IPv6).
    pub fn parse(text: &str) -> Result<ServerEntry, String> {
        let text = text.trim();
        let (host, port) = split_port(text)?;
        if let Ok(net) = host.parse::<IpNet>() {
            return Ok(ServerEntry::Net(net, port));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(ServerEntry::Net(IpNet::from(ip), port));
        }
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        // RFC 1123 host names: labels of letters, digits and inner hyphens (underscores are
        // allowed for service names); a last label of digits only is a mistyped address
        // (`172.16.8.300`), not a name.
        let valid = !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            && !name
                .rsplit('.')
                .next()
                .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()));
        if !valid {
            return Err(format!(
                "{text:?} is not a host name, an address or a network (with an optional :port)"
            ));
        }
        Ok(ServerEntry::Name(name, port))
    }

    fn matches(&self, ip: IpAddr, port: u16, names: &[&str]) -> bool {
        match self {
            ServerEntry::Net(net, p) => net.contains(&ip) && p.is_none_or(|p| p == port),
            ServerEntry::Name(_, p) => {
                p.is_none_or(|p| p == port) && names.iter().any(|n| self.names(n))
            }
        }
    }

    /// Whether this is a name entry for `name` (case-insensitive, trailing dot ignored).
    fn names(&self, name: &str) -> bool {
        matches!(self, ServerEntry::Name(entry, _)
            if name.trim_end_matches('.').eq_ignore_ascii_case(entry))
    }
}

/// Splits `host:port`, `[v6]:port` or a bare host; a bare IPv6 address keeps its colons.
fn split_port(text: &str) -> Result<(&str, Option<u16>), String> {
    let bad_port = |p: &str| format!("{text:?}: port {p:?} is not 1 to 65535");
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{text:?}: missing ]"))?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((
                host,
                Some(
                    p.parse()
                        .ok()
                        .filter(|&p| p != 0)
                        .ok_or_else(|| bad_port(p))?,
                ),
            )),
            None if after.is_empty() => Ok((host, None)),
            None => Err(format!("{text:?}: unexpected text after ]")),
        };
    }
    match text.rsplit_once(':') {
        Some((host, p)) if !host.contains(':') => Ok((
            host,
            Some(
                p.parse()
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or_else(|| bad_port(p))?,
            ),
        )),
        _ => Ok((text, None)),
    }
}

/// An authorized-server list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerList(pub Vec<ServerEntry>);

impl ServerList {
    /// Whether the list names nothing (then only the shipped flag list applies).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a server, reached at `ip:port` and known by `names`, is on the list.
    pub fn allows(&self, ip: IpAddr, port: u16, names: &[&str]) -> bool {
        self.0.iter().any(|e| e.matches(ip, port, names))
    }

    /// Whether the list holds any name entries (only those can judge a bare name).
    pub fn has_names(&self) -> bool {
        self.0.iter().any(|e| matches!(e, ServerEntry::Name(..)))
    }

    /// The ports (`None`: any) of the list's entries for the name `name`.
    pub fn ports_of_name<'a>(&'a self, name: &'a str) -> impl Iterator<Item = Option<u16>> + 'a {
        self.0.iter().filter(|e| e.names(name)).map(|e| match e {
            ServerEntry::Name(_, port) | ServerEntry::Net(_, port) => *port,
        })
    }
}

/// What the campus owns of one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    /// Seats (hosts) the licence covers.
    pub seats: u64,
    /// The agreement, in the officer's words.
    pub note: String,
}

/// The policy as configured; the default is no policy at all (no authorized servers, no
/// ledger), under which only the shipped flag list raises alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The campus's own KMS hosts.
    pub authorized_kms: ServerList,
    /// The campus's own licence servers.
    pub authorized_license_servers: ServerList,
    /// The ledger, by product id; empty when none is configured.
    pub ledger: HashMap<String, License>,
    /// Whether a ledger was configured (a configured but empty ledger still means "nothing is
    /// licensed").
    pub has_ledger: bool,
    /// How far back hosts count towards a product's seats, seconds.
    pub overuse_period_secs: u64,
}

/// Hosts count towards seats for 30 days unless the configuration says otherwise.
pub const DEFAULT_OVERUSE_PERIOD_SECS: u64 = 30 * 86_400;

impl Default for Policy {
    fn default() -> Self {
        Policy {
            authorized_kms: ServerList::default(),
            authorized_license_servers: ServerList::default(),
            ledger: HashMap::new(),
            has_ledger: false,
            overuse_period_secs: DEFAULT_OVERUSE_PERIOD_SECS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn entries_parse_names_addresses_networks_and_ports() {
        assert_eq!(
            ServerEntry::parse("Lic.Example.EDU.cn:27000"),
            Ok(ServerEntry::Name("lic.example.edu.cn".into(), Some(27000)))
        );
        assert_eq!(
            ServerEntry::parse("172.16.8.10"),
            Ok(ServerEntry::Net("172.16.8.10/32".parse().unwrap(), None))
        );
        assert_eq!(
            ServerEntry::parse("[2001:db8::1]:1688"),
            Ok(ServerEntry::Net(
                "2001:db8::1/128".parse().unwrap(),
                Some(1688)
            ))
        );
        assert_eq!(
            ServerEntry::parse("2001:db8::/32"),
            Ok(ServerEntry::Net("2001:db8::/32".parse().unwrap(), None))
        );
        assert!(ServerEntry::parse("kms host").is_err());
        assert!(
            ServerEntry::parse("172.16.8.300").is_err(),
            "a mistyped address"
        );
        assert!(ServerEntry::parse("-bad-.example").is_err());
        assert!(ServerEntry::parse("kms.example:0").is_err());
        assert!(ServerEntry::parse("kms.example:99999").is_err());
        assert!(ServerEntry::parse("[2001:db8::1").is_err());
    }

    #[test]
    fn a_list_allows_by_address_network_name_and_port() {
        let list = ServerList(
            [
                "kms.example.edu.cn",
                "172.16.8.0/24",
                "lic.example.edu.cn:27000",
            ]
            .iter()
            .map(|e| ServerEntry::parse(e).unwrap())
            .collect(),
        );
        assert!(list.allows(ip("172.16.8.77"), 1688, &[]));
        assert!(!list.allows(ip("172.16.9.1"), 1688, &[]));
        assert!(list.allows(ip("203.0.113.5"), 1688, &["KMS.example.edu.cn."]));
        assert!(list.allows(ip("203.0.113.6"), 27000, &["lic.example.edu.cn"]));
        assert!(!list.allows(ip("203.0.113.6"), 27001, &["lic.example.edu.cn"]));
        assert!(!list.allows(ip("203.0.113.6"), 1688, &["kms8.msguides.com"]));
    }
}
