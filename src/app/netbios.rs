//! NetBIOS name service messages (UDP 137) become `netbios` events.
//!
//! Windows hosts register their computer name at boot and answer node-status queries with every
//! name they hold, so this is where an unmanaged PC most often says what it is called.

use super::{DatagramParser, Malformed, Sink};
use crate::event::{EventBody, NetbiosEvent, NetbiosName};
use crate::wire::netbios;

/// The NetBIOS name service parser.
pub struct NameService;

/// NetBIOS name service (RFC 1002 §4.2), port 137.
pub static NAME_SERVICE: NameService = NameService;

impl DatagramParser for NameService {
    fn name(&self) -> &'static str {
        "netbios"
    }

    fn wants(&self, client_port: u16, server_port: u16) -> bool {
        client_port == 137 || server_port == 137
    }

    fn parse(&self, payload: &[u8], sink: &mut Sink<'_>) -> Result<(), Malformed> {
        let msg = netbios::parse(payload).map_err(|_| Malformed)?;
        let mut names = Vec::new();
        for entry in &msg.names {
            names.push(NetbiosName {
                name: entry.name.clone(),
                suffix: entry.suffix,
                addresses: entry.addresses.clone(),
            });
            // A node-status answer lists the names the answering host holds.
            names.extend(entry.node_names.iter().map(|n| NetbiosName {
                name: n.name.clone(),
                suffix: n.suffix,
                addresses: vec![],
            }));
        }
        if names.is_empty() {
            return Ok(());
        }
        sink.emit(EventBody::Netbios(NetbiosEvent {
            opcode: msg.opcode.name(),
            kind: if msg.is_response {
                "response"
            } else {
                "request"
            },
            names,
        }));
        Ok(())
    }
}
