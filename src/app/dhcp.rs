//! DHCPv4 and DHCPv6 messages become `dhcp` events.
//!
//! DHCP is where a host states its name, its hardware address and, through the order of the
//! options it asks for and its vendor class, what operating system it runs.

use super::{DatagramParser, Malformed, Sink};
use crate::event::{DhcpEvent, EventBody, Mac};
use crate::wire::{dhcp, dhcpv6};
use std::net::{IpAddr, Ipv4Addr};

/// The DHCPv4 parser.
pub struct V4;
/// The DHCPv6 parser.
pub struct V6;

/// DHCPv4 (RFC 2131), ports 67 and 68.
pub static DHCP_V4: V4 = V4;
/// DHCPv6 (RFC 8415), ports 546 and 547.
pub static DHCP_V6: V6 = V6;

/// Colon-separated lowercase hex, as EVE prints client identifiers.
fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn nonzero(a: Ipv4Addr) -> Option<IpAddr> {
    (!a.is_unspecified()).then_some(IpAddr::V4(a))
}

impl DatagramParser for V4 {
    fn name(&self) -> &'static str {
        "dhcp"
    }

    fn wants(&self, client_port: u16, server_port: u16) -> bool {
        matches!((client_port, server_port), (68, 67) | (67, 68) | (67, 67))
    }

    fn parse(&self, payload: &[u8], sink: &mut Sink<'_>) -> Result<(), Malformed> {
        let m = dhcp::parse(payload).map_err(|_| Malformed)?;
        sink.emit(EventBody::Dhcp(DhcpEvent {
            kind: if m.op == 1 { "request" } else { "reply" },
            version: 4,
            id: m.xid,
            dhcp_type: m.message_type.map_or("bootp", |t| t.name()),
            client_mac: m.client_mac.map(Mac),
            client_ip: nonzero(m.ciaddr),
            assigned_ip: nonzero(m.yiaddr),
            requested_ip: m.requested_ip.map(IpAddr::V4),
            lease_time: m.lease_time,
            hostname: m.hostname,
            fqdn: m.client_fqdn,
            vendor_class_identifier: m.vendor_class,
            params: m.param_request_list.into_iter().map(u16::from).collect(),
            client_id: m.client_id.as_deref().map(hex),
            server_id: None,
        }));
        Ok(())
    }
}

impl DatagramParser for V6 {
    fn name(&self) -> &'static str {
        "dhcpv6"
    }

    fn wants(&self, client_port: u16, server_port: u16) -> bool {
        matches!(
            (client_port, server_port),
            (546, 547) | (547, 546) | (547, 547)
        )
    }

    fn parse(&self, payload: &[u8], sink: &mut Sink<'_>) -> Result<(), Malformed> {
        let m = dhcpv6::parse(payload).map_err(|_| Malformed)?;
        let from_client = matches!(m.msg_type.0, 1 | 3..=6 | 8 | 9 | 11);
        sink.emit(EventBody::Dhcp(DhcpEvent {
            kind: if from_client { "request" } else { "reply" },
            version: 6,
            id: m.transaction_id,
            dhcp_type: m.msg_type.name(),
            assigned_ip: if from_client {
                None
            } else {
                m.addresses.first().copied().map(IpAddr::V6)
            },
            requested_ip: if from_client {
                m.addresses.first().copied().map(IpAddr::V6)
            } else {
                None
            },
            fqdn: m.fqdn,
            vendor_class_identifier: m.vendor_class.map(|v| v.data.join(" ")),
            params: m.option_request,
            client_id: m.client_duid.as_deref().map(dhcpv6::duid_to_string),
            server_id: m.server_duid.as_deref().map(dhcpv6::duid_to_string),
            ..DhcpEvent::default()
        }));
        Ok(())
    }
}
