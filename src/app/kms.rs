//! KMS activation over DCE/RPC on any TCP port becomes `kms` events.
//!
//! A connection is taken for KMS when the client's first PDU is a bind that proposes the KMS
//! interface, whatever the port (`slmgr /skms host:port` moves it off 1688). The parser then
//! follows bind and alter_context with their acknowledgments to learn which presentation
//! context carries NDR32 and which NDR64, reassembles fragmented request and response stubs,
//! decodes each request (held on the flow) and completes it with the response or fault of the
//! same call id. What it keeps between PDUs is bounded: at most [`MAX_CONTEXTS`] contexts and
//! one partial stub of at most [`MAX_STUB_LEN`] bytes per direction.

use super::{ParserState, Sink, StreamParser, Verdict};
use crate::event::{EpidInfo, EventBody, KmsEvent, KmsResponse, Timestamp};
use crate::pipeline::flow::Direction;
use crate::wire::dcerpc::{self, Body, PFC_FIRST_FRAG, PFC_LAST_FRAG, Pdu, Uuid, ptype};
use crate::wire::kms::{self, Ndr};

/// Presentation contexts remembered per connection, offered and accepted alike.
pub const MAX_CONTEXTS: usize = 16;

/// Longest stub reassembled from fragments: a KMS message and its NDR framing fit many times.
pub const MAX_STUB_LEN: usize = 2 * kms::MAX_MESSAGE_LEN;

/// The KMS stream parser.
pub struct Kms;

/// KMS on any port.
pub static KMS: Kms = Kms;

/// What a KMS connection's parser keeps between PDUs.
#[derive(Debug, Default)]
pub struct Conversation {
    /// KMS contexts the client offered, with the NDR syntax it offered first.
    offered: Vec<(u16, Option<Ndr>)>,
    /// Context ids of the last bind or alter_context, in order, for its acknowledgment.
    pending: Vec<u16>,
    /// KMS contexts the server accepted, with the syntax it chose.
    accepted: Vec<(u16, Ndr)>,
    /// A call's stub being reassembled, per direction: call id and bytes so far.
    partial: [Option<(u32, Vec<u8>)>; 2],
}

impl Conversation {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.offered.capacity() * std::mem::size_of::<(u16, Option<Ndr>)>()
            + self.pending.capacity() * 2
            + self.accepted.capacity() * std::mem::size_of::<(u16, Ndr)>()
            + self
                .partial
                .iter()
                .flatten()
                .map(|(_, b)| b.capacity())
                .sum::<usize>()
    }

    /// Whether a fragmented stub was still incomplete.
    pub fn unfinished(&self) -> bool {
        self.partial.iter().any(Option::is_some)
    }

    /// The syntax of a context: the server's choice, or without its answer (a one-way
    /// capture) what the client offered.
    fn syntax(&self, context: u16) -> Option<Ndr> {
        self.accepted
            .iter()
            .find(|(id, _)| *id == context)
            .map(|(_, n)| *n)
            .or_else(|| {
                self.offered
                    .iter()
                    .find(|(id, _)| *id == context)
                    .and_then(|(_, n)| *n)
            })
    }

    /// Records a bind's or alter_context's KMS contexts; false if it offers none.
    fn offer(&mut self, items: &[dcerpc::ContextItem]) -> bool {
        let interface = Uuid::parse(kms::INTERFACE);
        self.pending.clear();
        let mut any = false;
        for item in items.iter().take(MAX_CONTEXTS) {
            self.pending.push(item.id);
            if Some(item.abstract_syntax.uuid) != interface {
                continue;
            }
            any = true;
            let ndr = item.transfer_syntaxes.iter().find_map(|s| Ndr::of(&s.uuid));
            self.offered.retain(|(id, _)| *id != item.id);
            if self.offered.len() < MAX_CONTEXTS {
                self.offered.push((item.id, ndr));
            }
        }
        any
    }

    /// Records which of the pending contexts the server accepted, and with which syntax.
    fn acknowledge(&mut self, results: &[dcerpc::ContextResult]) {
        for (id, result) in self.pending.iter().zip(results) {
            let Some(ndr) = Ndr::of(&result.transfer_syntax.uuid) else {
                continue;
            };
            if result.result != 0 || !self.offered.iter().any(|(o, _)| o == id) {
                continue;
            }
            self.accepted.retain(|(a, _)| a != id);
            if self.accepted.len() < MAX_CONTEXTS {
                self.accepted.push((*id, ndr));
            }
        }
    }

    /// Adds a fragment of a call's stub; returns the whole stub once the last fragment is in.
    /// A stub that would outgrow [`MAX_STUB_LEN`] is dropped.
    fn reassemble(&mut self, d: usize, pdu: &Pdu<'_>, stub: &[u8]) -> Option<Vec<u8>> {
        let first = pdu.flags & PFC_FIRST_FRAG != 0;
        let last = pdu.flags & PFC_LAST_FRAG != 0;
        let slot = &mut self.partial[d];
        if first {
            *slot = None;
        }
        if first && last {
            return Some(stub.to_vec());
        }
        let mut bytes = match slot.take() {
            Some((call, bytes)) if call == pdu.call_id && !first => bytes,
            None if first => Vec::new(),
            _ => return None,
        };
        if bytes.len() + stub.len() > MAX_STUB_LEN {
            return None;
        }
        bytes.extend_from_slice(stub);
        if last {
            Some(bytes)
        } else {
            *slot = Some((pdu.call_id, bytes));
            None
        }
    }
}

fn conversation<'s>(sink: &'s mut Sink<'_>) -> Option<&'s mut Conversation> {
    match sink.state.as_deref_mut() {
        Some(ParserState::Kms(c)) => Some(c),
        _ => None,
    }
}

impl StreamParser for Kms {
    fn name(&self) -> &'static str {
        "kms"
    }

    fn wants(&self, _client_port: u16, _server_port: u16) -> bool {
        true
    }

    fn parse(&self, dir: Direction, data: &[u8], sink: &mut Sink<'_>) -> (usize, Verdict) {
        let mut used = 0;
        loop {
            let rest = data.get(used..).unwrap_or_default();
            let known = conversation(sink).is_some();
            if !known && (dir != Direction::ToServer || !dcerpc::starts_pdu(rest, ptype::BIND)) {
                return (used, Verdict::NotMine);
            }
            if rest.is_empty() {
                return (used, Verdict::NeedMore);
            }
            let pdu = match dcerpc::parse(rest) {
                Ok(Some(pdu)) => pdu,
                Ok(None) => return (used, Verdict::NeedMore),
                Err(_) if known => return (used, Verdict::Done),
                Err(_) => return (used, Verdict::NotMine),
            };
            used += pdu.len;
            if !handle(dir, &pdu, sink) {
                return (used, Verdict::NotMine);
            }
        }
    }
}

/// Acts on one PDU; false when a first bind shows the connection is not KMS.
fn handle(dir: Direction, pdu: &Pdu<'_>, sink: &mut Sink<'_>) -> bool {
    let d = dir.index();
    match (&pdu.body, dir) {
        (Body::Bind(items), Direction::ToServer) => match conversation(sink) {
            Some(c) => {
                c.offer(items);
            }
            None => {
                let mut c = Conversation::default();
                if !c.offer(items) {
                    return false;
                }
                *sink.state = Some(Box::new(ParserState::Kms(c)));
            }
        },
        (Body::BindAck(results), Direction::ToClient) => {
            if let Some(c) = conversation(sink) {
                c.acknowledge(results);
            }
        }
        (
            Body::Request {
                context_id,
                opnum: 0,
                stub,
            },
            Direction::ToServer,
        ) => {
            let Some(c) = conversation(sink) else {
                return true;
            };
            let Some(ndr) = c.syntax(*context_id) else {
                return true;
            };
            if let Some(stub) = c.reassemble(d, pdu, stub) {
                request(pdu.call_id, ndr, &stub, sink);
            }
        }
        (Body::Response { context_id, stub }, Direction::ToClient) => {
            let Some(c) = conversation(sink) else {
                return true;
            };
            let Some(ndr) = c.syntax(*context_id) else {
                return true;
            };
            if let Some(stub) = c.reassemble(d, pdu, stub) {
                response(pdu.call_id, ndr, &stub, sink);
            }
        }
        (Body::Fault { status, .. }, Direction::ToClient) => {
            complete(pdu.call_id, sink, |r| {
                r.hresult = format!("0x{status:08x}");
                r.result = kms::hresult_name(*status);
                r.rpc_fault = true;
            });
        }
        _ => {}
    }
    true
}

/// What a licence status code means (the request's LicenseStatus, kms.md §3).
fn license_state(code: u32) -> &'static str {
    match code {
        0 => "unlicensed",
        1 => "licensed",
        2 => "oob-grace",
        3 => "oot-grace",
        4 => "non-genuine-grace",
        5 => "notification",
        6 => "extended-grace",
        _ => "unknown",
    }
}

/// Decodes a request stub and holds its event until the response.
fn request(call_id: u32, ndr: Ndr, stub: &[u8], sink: &mut Sink<'_>) {
    let Ok(r) = kms::request_payload(stub, ndr).and_then(kms::decode_request) else {
        return;
    };
    sink.hold(EventBody::Kms(Box::new(KmsEvent {
        call_id,
        ndr: ndr.as_str(),
        protocol: r.version.to_string(),
        application_id: r.application_id.to_string(),
        application: None,
        sku_id: r.sku_id.to_string(),
        edition: None,
        kms_counted_id: r.kms_counted_id.to_string(),
        kms_group: None,
        client_machine_id: r.client_machine_id.to_string(),
        previous_client_machine_id: (!r.previous_client_machine_id.is_nil())
            .then(|| r.previous_client_machine_id.to_string()),
        machine_name: r.machine_name,
        vm: r.is_client_vm,
        license_status: r.license_status,
        license_state: license_state(r.license_status),
        grace_minutes: r.grace_minutes,
        required_client_count: r.required_client_count,
        request_time: Timestamp(kms::filetime_to_unix_micros(r.request_time)),
        request_filetime: r.request_time,
        request_len: r.len,
        response: None,
    })));
}

/// Decodes a response stub into the held request of the same call.
fn response(call_id: u32, ndr: Ndr, stub: &[u8], sink: &mut Sink<'_>) {
    let Ok(s) = kms::response_payload(stub, ndr) else {
        return;
    };
    let decoded = (!s.message.is_empty())
        .then(|| kms::decode_response(s.message).ok())
        .flatten();
    complete(call_id, sink, |r| {
        r.hresult = format!("0x{:08x}", s.hresult);
        r.result = kms::hresult_name(s.hresult);
        r.response_len = s.message.len();
        if let Some(m) = decoded {
            r.epid_info = kms::epid_info(&m.epid).map(|i| EpidInfo {
                platform_id: i.platform_id,
                group_id: i.group_id,
                lcid: i.lcid,
                host_build: i.host_build,
                host_os: None,
                activation_date: i.activation_date,
            });
            r.epid = Some(m.epid);
            r.hwid = m
                .hwid
                .map(|h| h.iter().map(|b| format!("{b:02X}")).collect());
            r.current_count = Some(m.current_count);
            r.activation_interval = Some(m.activation_interval);
            r.renewal_interval = Some(m.renewal_interval);
        }
    });
}

/// Fills the response of the held request with `call_id` and emits it. A held event of another
/// call or parser goes out unchanged; a response with no request seen is not reported.
fn complete(call_id: u32, sink: &mut Sink<'_>, fill: impl FnOnce(&mut KmsResponse)) {
    let Some(mut held) = sink.take_held() else {
        return;
    };
    if let EventBody::Kms(k) = &mut held.body
        && k.call_id == call_id
        && k.response.is_none()
    {
        let mut r = KmsResponse {
            hresult: String::new(),
            result: None,
            rpc_fault: false,
            epid: None,
            epid_info: None,
            hwid: None,
            current_count: None,
            activation_interval: None,
            renewal_interval: None,
            response_len: 0,
        };
        fill(&mut r);
        k.response = Some(r);
        held.timestamp = sink.ts;
    }
    sink.emit_event(*held);
}
