//! Events: what the sensor reports, one NDJSON object each.
//!
//! Field names follow Suricata's EVE JSON wherever EVE has the same thing (`timestamp`, `flow_id`,
//! `event_type`, `src_ip`, `dns.rrname`, `http.http_user_agent`…), so pipelines built for EVE can read
//! wiretally's output unchanged. Serialisation is hand-ordered so that the same input always gives
//! byte-identical output.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// A packet timestamp in microseconds since the Unix epoch (UTC), as libpcap delivers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The last microsecond RFC 3339 can write: 9999-12-31T23:59:59.999999Z.
    pub const MAX: Timestamp = Timestamp(253_402_300_799_999_999);

    /// Builds a timestamp from seconds and microseconds.
    pub fn from_parts(secs: i64, micros: i64) -> Self {
        Timestamp(secs.saturating_mul(1_000_000).saturating_add(micros))
    }

    /// This timestamp plus `secs` seconds.
    pub fn plus_secs(self, secs: u64) -> Self {
        Timestamp(
            self.0
                .saturating_add((secs as i64).saturating_mul(1_000_000)),
        )
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with microseconds, e.g. `2026-12-04T15:42:02.123456Z`. Times before the
    /// epoch print as the epoch and times after 9999 as its last microsecond: RFC 3339 has four
    /// year digits, and a hostile capture or KMS request can claim any time.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = u64::try_from(self.0)
            .unwrap_or(0)
            .min(Timestamp::MAX.0 as u64);
        let t = SystemTime::UNIX_EPOCH + Duration::from_micros(micros);
        write!(f, "{}", humantime::format_rfc3339_micros(t))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::str::FromStr for Timestamp {
    type Err = humantime::TimestampError;

    /// Reads the RFC 3339 form [`Timestamp`]'s `Display` writes.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let t = humantime::parse_rfc3339(text)?;
        let micros = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        Ok(Timestamp(micros))
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An Ethernet MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// True for the all-zero address, which link layers use for "no address".
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }

    /// True for group (multicast and broadcast) addresses, which never name one host.
    pub fn is_group(&self) -> bool {
        self.0[0] & 1 == 1
    }
}

impl Mac {
    /// The address as `aa:bb:cc:dd:ee:ff`, written into a stack buffer: every event carries two,
    /// and the formatting machinery cost a tenth of the event writer's time.
    fn text(&self) -> [u8; 17] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b':'; 17];
        for (i, b) in self.0.iter().enumerate() {
            out[i * 3] = HEX[usize::from(b >> 4)];
            out[i * 3 + 1] = HEX[usize::from(b & 0x0f)];
        }
        out
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        f.write_str(std::str::from_utf8(&text).unwrap_or_default())
    }
}

/// Why a text is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadMac;

impl fmt::Display for BadMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a MAC address (six hex pairs separated by : or -)")
    }
}

impl std::error::Error for BadMac {}

impl std::str::FromStr for Mac {
    type Err = BadMac;

    /// Reads `aa:bb:cc:dd:ee:ff` or `AA-BB-CC-DD-EE-FF` (the form Windows prints).
    fn from_str(text: &str) -> Result<Self, BadMac> {
        let mut out = [0u8; 6];
        let mut parts = text.split([':', '-']);
        for byte in &mut out {
            let part = parts.next().ok_or(BadMac)?;
            if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(BadMac);
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| BadMac)?;
        }
        match parts.next() {
            None => Ok(Mac(out)),
            Some(_) => Err(BadMac),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Mac {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Mac {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.text();
        s.serialize_str(std::str::from_utf8(&text).unwrap_or_default())
    }
}

/// Transport protocol of a flow, printed as EVE does (`TCP`, `UDP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    /// Transmission Control Protocol.
    Tcp,
    /// User Datagram Protocol.
    Udp,
}

impl Proto {
    /// The EVE spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
        }
    }
}

/// The addressing part every event carries: who talked to whom, on which flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// EVE `flow_id`: stable for the same flow in the same input.
    pub flow_id: u64,
    /// Sender of the message this event describes.
    pub src_ip: IpAddr,
    /// Sender's port.
    pub src_port: u16,
    /// Receiver of the message.
    pub dest_ip: IpAddr,
    /// Receiver's port.
    pub dest_port: u16,
    /// Transport protocol.
    pub proto: Proto,
    /// Sender's MAC where the link layer shows it.
    pub src_mac: Option<Mac>,
    /// Receiver's MAC where the link layer shows it.
    pub dest_mac: Option<Mac>,
}

impl Endpoints {
    /// The same flow seen from the receiver's side.
    pub fn reversed(&self) -> Endpoints {
        Endpoints {
            flow_id: self.flow_id,
            src_ip: self.dest_ip,
            src_port: self.dest_port,
            dest_ip: self.src_ip,
            dest_port: self.src_port,
            proto: self.proto,
            src_mac: self.dest_mac,
            dest_mac: self.src_mac,
        }
    }
}

/// One observation, written as one NDJSON line.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Time of the packet that completed the observation.
    pub timestamp: Timestamp,
    /// Addresses, ports and flow.
    pub endpoints: Endpoints,
    /// The protocol-specific part; its kind is the EVE `event_type`.
    pub body: EventBody,
}

/// The protocol-specific part of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventBody {
    /// Unicast DNS over UDP or TCP.
    Dns(DnsEvent),
    /// Multicast DNS (UDP 5353).
    Mdns(DnsEvent),
    /// Link-Local Multicast Name Resolution (UDP 5355).
    Llmnr(DnsEvent),
    /// NetBIOS name service (UDP 137).
    Netbios(NetbiosEvent),
    /// DHCPv4 or DHCPv6.
    Dhcp(DhcpEvent),
    /// An HTTP/1.x request and, when seen, its response head.
    Http(HttpEvent),
    /// A TLS ClientHello and, when seen, the server's answer.
    Tls(TlsEvent),
    /// A QUIC client Initial's ClientHello.
    Quic(QuicEvent),
    /// A KMS activation call: the request and, when seen, the host's answer.
    Kms(Box<KmsEvent>),
    /// A licence-manager message (FlexLM/FlexNet).
    License(LicenseEvent),
    /// An alert raised for the first time.
    Alert(Box<crate::inventory::alerts::Alert>),
    /// A host gained a product, or a product showed a new version.
    Software(SoftwareEvent),
}

impl EventBody {
    /// The EVE `event_type` of this body.
    pub fn event_type(&self) -> &'static str {
        match self {
            EventBody::Dns(_) => "dns",
            EventBody::Mdns(_) => "mdns",
            EventBody::Llmnr(_) => "llmnr",
            EventBody::Netbios(_) => "netbios",
            EventBody::Dhcp(_) => "dhcp",
            EventBody::Http(_) => "http",
            EventBody::Tls(_) => "tls",
            EventBody::Quic(_) => "quic",
            EventBody::Kms(_) => "kms",
            EventBody::License(_) => "license",
            EventBody::Alert(_) => "alert",
            EventBody::Software(_) => "software",
        }
    }
}

/// EVE `dns` object (version 2 layout: one event per query, one per response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsEvent {
    /// `query` or `answer`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Transaction id.
    pub id: u16,
    /// Response code name (`NOERROR`, `NXDOMAIN`…), responses only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode: Option<String>,
    /// The (first) question's name.
    pub rrname: String,
    /// The (first) question's type.
    pub rrtype: String,
    /// Answer records, responses only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<DnsAnswer>,
}

/// One answer record of a DNS response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsAnswer {
    /// Owner name.
    pub rrname: String,
    /// Record type name.
    pub rrtype: String,
    /// Time to live in seconds.
    pub ttl: u32,
    /// Address or target name for A, AAAA, CNAME and PTR.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdata: Option<String>,
    /// SRV data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srv: Option<SrvData>,
}

/// The data of an SRV record (RFC 2782), as EVE prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SrvData {
    /// Priority.
    pub priority: u16,
    /// Weight.
    pub weight: u16,
    /// Port.
    pub port: u16,
    /// Target host.
    pub name: String,
}

/// `netbios` object: names a host asks for, registers or answers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetbiosEvent {
    /// `query`, `registration`, `release`, `refresh`…
    pub opcode: &'static str,
    /// `request` or `response`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Names in the message with their suffix and addresses.
    pub names: Vec<NetbiosName>,
}

/// One NetBIOS name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetbiosName {
    /// The name without its padding.
    pub name: String,
    /// The 16th byte (0x00 workstation, 0x20 file server, 0x1c domain controllers…).
    pub suffix: u8,
    /// Addresses the record gives, if any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<std::net::Ipv4Addr>,
}

/// EVE `dhcp` object, extended with the fields that fingerprint a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct DhcpEvent {
    /// `request` (client to server) or `reply`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// 4 or 6.
    pub version: u8,
    /// Transaction id.
    pub id: u32,
    /// Message type name (`discover`, `request`, `ack`, `solicit`…).
    pub dhcp_type: &'static str,
    /// Client hardware address (DHCPv4 chaddr).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_mac: Option<Mac>,
    /// Client's current address (DHCPv4 ciaddr), when not 0.0.0.0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<IpAddr>,
    /// Address the server assigns (yiaddr, or DHCPv6 IA addresses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned_ip: Option<IpAddr>,
    /// Address the client asks for (option 50).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_ip: Option<IpAddr>,
    /// Lease time in seconds (option 51).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_time: Option<u32>,
    /// Host name (option 12).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Client FQDN (DHCPv4 option 81, DHCPv6 option 39).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    /// Vendor class (DHCPv4 option 60, DHCPv6 option 16 data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_class_identifier: Option<String>,
    /// Parameter request list (option 55) in the client's order: an OS fingerprint.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<u16>,
    /// Client identifier (option 61) or DHCPv6 client DUID, as colon-separated hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// DHCPv6 server DUID, as colon-separated hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
}

/// EVE `http` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct HttpEvent {
    /// Host header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Request target.
    pub url: String,
    /// Request method.
    pub http_method: String,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub protocol: String,
    /// User-Agent header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_user_agent: Option<String>,
    /// Response status, when the response head was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Response Server header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Response Content-Type header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_content_type: Option<String>,
}

/// A JA3 fingerprint as EVE prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ja3 {
    /// MD5 of `string`, lowercase hex.
    pub hash: String,
    /// The JA3 string (version, ciphers, extensions, groups, point formats).
    pub string: String,
}

/// EVE `tls` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsEvent {
    /// Server name indication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Negotiated version when the ServerHello was seen, else the highest the client offered
    /// (`TLS 1.3`, `TLS 1.2`, `TLSv1`…).
    pub version: String,
    /// Protocols the client offered (ALPN), in its order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// Protocol the server chose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_alpn: Option<String>,
    /// Cipher suite the server chose, as `0x` and four hex digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    /// JA3 of the ClientHello.
    pub ja3: Ja3,
    /// JA4 (TLS client) of the ClientHello.
    pub ja4: String,
    /// Leaf certificate subject (TLS 1.2 and earlier, where it travels in the clear).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Leaf certificate issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuerdn: Option<String>,
    /// DNS names of the leaf certificate's subjectAltName.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjectaltname: Vec<String>,
}

/// `software` object: what a host was found to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SoftwareEvent {
    /// Product id from the signature packs.
    pub product: String,
    /// English name.
    pub name: String,
    /// Chinese name.
    pub name_zh: String,
    /// Vendor.
    pub vendor: String,
    /// `os`, `office`, `antivirus`, `industrial` or `other`.
    pub category: &'static str,
    /// The version this event reports, when a rule captured one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Confidence after this match, 0 to 1.
    pub confidence: f64,
    /// Kind of the evidence that triggered the event.
    pub kind: &'static str,
    /// Rule that matched.
    pub rule: String,
    /// What matched.
    pub observable: String,
}

/// EVE `quic` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuicEvent {
    /// QUIC version (`1`, `2`, `draft-29`).
    pub version: String,
    /// Server name indication of the ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Protocols the client offered (ALPN).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// Chrome's user agent from the QUIC transport parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ua: Option<String>,
    /// JA3 of the ClientHello.
    pub ja3: Ja3,
    /// JA4 of the ClientHello, `q` form.
    pub ja4: String,
}

/// `kms` object: one KMS activation call (shared/reference/kms.md). The names of the
/// application, edition and product group come from the KMS table under signatures/ and are
/// filled in by the inventory; they are absent when the table does not know the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KmsEvent {
    /// RPC call id, pairing the request with its response.
    pub call_id: u32,
    /// `NDR32` or `NDR64`.
    pub ndr: &'static str,
    /// KMS protocol version of the request, `6.0`.
    pub protocol: String,
    /// Application id (Windows, Office 2010, Office 2013+).
    pub application_id: String,
    /// Application name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// Edition (SKU) id.
    pub sku_id: String,
    /// Edition name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edition: Option<String>,
    /// KMS counted id: the product group the host counts.
    pub kms_counted_id: String,
    /// Product group name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_group: Option<String>,
    /// Client machine id.
    pub client_machine_id: String,
    /// Previous client machine id, when not nil.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_client_machine_id: Option<String>,
    /// Workstation name the client sent.
    pub machine_name: String,
    /// Whether the client says it is a virtual machine.
    pub vm: bool,
    /// Licence status code of the request.
    pub license_status: u32,
    /// What the code means (`oob-grace`…).
    pub license_state: &'static str,
    /// Minutes left in that state.
    pub grace_minutes: u32,
    /// Activation threshold the client asks for.
    pub required_client_count: u32,
    /// The client's clock.
    pub request_time: Timestamp,
    /// The request's FILETIME, as sent.
    pub request_filetime: u64,
    /// Bytes of the KMS request.
    pub request_len: usize,
    /// The host's answer, when it was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<KmsResponse>,
}

/// The KMS host's side of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KmsResponse {
    /// HRESULT, `0x00000000` on success.
    pub hresult: String,
    /// Microsoft's name for the HRESULT, when it is a common one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
    /// Whether the RPC layer faulted (the HRESULT is then the fault status).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rpc_fault: bool,
    /// The host's extended product id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epid: Option<String>,
    /// What the ePID says about the host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epid_info: Option<EpidInfo>,
    /// The host's hardware id (v6), hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hwid: Option<String>,
    /// Clients the host has counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_count: Option<u32>,
    /// Minutes between activation retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation_interval: Option<u32>,
    /// Minutes between renewals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_interval: Option<u32>,
    /// Bytes of the KMS response (0 when the call failed).
    pub response_len: usize,
}

/// `license` object: a licence-manager message (FlexLM/FlexNet Publisher, shared/reference/kms.md
/// §9). The sender is the client for `hello` and `request`, the server for the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LicenseEvent {
    /// `flexlm`.
    pub protocol: &'static str,
    /// The licence server's address (the receiver of a client's message, the sender of the
    /// server's).
    pub server: IpAddr,
    /// The licence server's port.
    pub server_port: u16,
    /// `hello`, `request` (a connection that opens with a framed request), `hello-response`,
    /// `redirect`, `vendor-daemon` (the client's connection to the port a redirect named) or
    /// `connection` (a TCP connection to a port licence managers listen on).
    pub message: &'static str,
    /// FlexNet message type of a framed message (`0x0113`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    /// The vendor daemon (`MLM`, `adskflex`, `ansyslmd`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_daemon: Option<String>,
    /// Host name the client gave in its hello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_host: Option<String>,
    /// Client platform from its hello (`x64_lsb`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// FlexNet version the hello names (`11.11`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where a redirect sends the client: the vendor daemon's host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_host: Option<String>,
    /// And its port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_port: Option<u16>,
    /// The product licensed, where the vendor daemon or the server port tells (filled in by the
    /// inventory from the signature packs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
}

impl LicenseEvent {
    /// Whether the server sent the message (so the client is the event's receiver).
    pub fn from_server(&self) -> bool {
        matches!(self.message, "hello-response" | "redirect")
    }
}

/// The fields of a KMS host's ePID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EpidInfo {
    /// Platform id of the host's operating system.
    pub platform_id: u32,
    /// Group id of the host key.
    pub group_id: u32,
    /// Language id of the host.
    pub lcid: u32,
    /// Build number of the host's operating system.
    pub host_build: u32,
    /// Name of that build, from the KMS table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_os: Option<String>,
    /// Day the host key was activated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation_date: Option<String>,
}

impl Event {
    /// Writes the event's entries, in EVE's order, into a JSON object being built.
    fn entries<M: SerializeMap>(&self, m: &mut M) -> Result<(), M::Error> {
        let e = &self.endpoints;
        m.serialize_entry("timestamp", &self.timestamp)?;
        m.serialize_entry("flow_id", &e.flow_id)?;
        m.serialize_entry("event_type", self.body.event_type())?;
        m.serialize_entry("src_ip", &e.src_ip)?;
        m.serialize_entry("src_port", &e.src_port)?;
        m.serialize_entry("dest_ip", &e.dest_ip)?;
        m.serialize_entry("dest_port", &e.dest_port)?;
        m.serialize_entry("proto", e.proto.as_str())?;
        if let Some(mac) = e.src_mac {
            m.serialize_entry("src_mac", &mac)?;
        }
        if let Some(mac) = e.dest_mac {
            m.serialize_entry("dest_mac", &mac)?;
        }
        let key = self.body.event_type();
        match &self.body {
            EventBody::Dns(d) | EventBody::Mdns(d) | EventBody::Llmnr(d) => {
                m.serialize_entry(key, d)
            }
            EventBody::Netbios(n) => m.serialize_entry(key, n),
            EventBody::Dhcp(d) => m.serialize_entry(key, d),
            EventBody::Http(h) => m.serialize_entry(key, h),
            EventBody::Tls(t) => m.serialize_entry(key, t),
            EventBody::Quic(q) => m.serialize_entry(key, q),
            EventBody::Kms(k) => m.serialize_entry(key, k),
            EventBody::License(l) => m.serialize_entry(key, l),
            EventBody::Alert(a) => m.serialize_entry(key, a),
            EventBody::Software(p) => m.serialize_entry(key, p),
        }
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.entries(&mut m)?;
        m.end()
    }
}

/// An event as the event log writes it: with the name of the sensor that saw it (what EVE calls
/// `host`; `sensor` here, since hosts are what the inventory is about).
pub struct SensorEvent<'a> {
    /// The configured sensor name.
    pub sensor: &'a str,
    /// The event.
    pub event: &'a Event,
}

impl Serialize for SensorEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        self.event.entries(&mut m)?;
        m.serialize_entry("sensor", self.sensor)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_timestamps_read_back_what_they_write() {
        let mac: Mac = "00-1A-2b-3c-4d-5E".parse().unwrap();
        assert_eq!(mac.to_string(), "00:1a:2b:3c:4d:5e");
        assert_eq!(mac.to_string().parse::<Mac>(), Ok(mac));
        for bad in [
            "00:1a:2b:3c:4d",
            "00:1a:2b:3c:4d:5e:6f",
            "+0:1a:2b:3c:4d:5e",
            "001a2b3c4d5e",
            "",
        ] {
            assert_eq!(bad.parse::<Mac>(), Err(BadMac), "{bad}");
        }
        let t = Timestamp(1_764_860_400_123_456);
        assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        assert!("yesterday".parse::<Timestamp>().is_err());
    }

    #[test]
    fn mac_text_is_lowercase_colon_hex() {
        let mac = Mac([0x00, 0x0a, 0xbc, 0xf0, 0x9f, 0xff]);
        assert_eq!(mac.to_string(), "00:0a:bc:f0:9f:ff");
        assert_eq!(
            serde_json::to_string(&mac).unwrap(),
            "\"00:0a:bc:f0:9f:ff\""
        );
    }

    #[test]
    fn timestamps_past_rfc_3339_clamp_instead_of_failing() {
        assert_eq!(
            Timestamp(i64::MAX).to_string(),
            "9999-12-31T23:59:59.999999Z"
        );
        assert_eq!(
            serde_json::to_string(&Timestamp(i64::MAX)).unwrap(),
            "\"9999-12-31T23:59:59.999999Z\""
        );
    }

    #[test]
    fn timestamp_prints_rfc3339_micros() {
        let t = Timestamp::from_parts(1_764_863_722, 5);
        assert_eq!(t.to_string(), "2025-12-04T15:55:22.000005Z");
        assert_eq!(Timestamp(-7).to_string(), "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn event_keys_follow_eve_order() {
        let ev = Event {
            timestamp: Timestamp(1_000_000),
            endpoints: Endpoints {
                flow_id: 42,
                src_ip: "10.0.0.1".parse().unwrap(),
                src_port: 5353,
                dest_ip: "224.0.0.251".parse().unwrap(),
                dest_port: 5353,
                proto: Proto::Udp,
                src_mac: Some(Mac([2, 0, 0, 0, 0, 1])),
                dest_mac: None,
            },
            body: EventBody::Mdns(DnsEvent {
                kind: "query",
                id: 0,
                rcode: None,
                rrname: "printer.local".into(),
                rrtype: "A".into(),
                answers: vec![],
            }),
        };
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"timestamp":"1970-01-01T00:00:01.000000Z","flow_id":42,"event_type":"mdns","src_ip":"10.0.0.1","src_port":5353,"dest_ip":"224.0.0.251","dest_port":5353,"proto":"UDP","src_mac":"02:00:00:00:00:01","mdns":{"type":"query","id":0,"rrname":"printer.local","rrtype":"A"}}"#
        );
    }
}
