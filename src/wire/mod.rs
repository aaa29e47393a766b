//! Pure protocol parsers: bytes in, typed values out.
//!
//! Nothing here does I/O, reads the clock or keeps state between calls, and no input can make a
//! parser panic or allocate without bound; each module's documentation states its limits. Every
//! parser has a fuzz target under `fuzz/`.

pub mod crypto_reassembly;
pub mod dcerpc;
pub mod dhcp;
pub mod dhcpv6;
pub mod dns;
pub mod flexlm;
pub mod http;
pub mod ja;
pub mod kms;
pub mod kms_aes;
pub mod netbios;
pub mod quic;
pub mod tls;
