//! Fuzz target for DCE/RPC PDUs and the KMS decoder: a stream of PDUs parses or fails cleanly
//! within its caps, and every request or response stub, in either NDR syntax, decodes or fails
//! cleanly too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretally::wire::dcerpc::{self, Body, MAX_CONTEXT_ITEMS, MAX_FRAG_LEN, MAX_TRANSFER_SYNTAXES};
use wiretally::wire::kms::{self, MAX_EPID_BYTES, Ndr};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some(pdu)) = dcerpc::parse(rest) {
        assert!((dcerpc::HEADER_LEN..=MAX_FRAG_LEN).contains(&pdu.len));
        assert!(pdu.len <= rest.len());
        match &pdu.body {
            Body::Bind(items) => {
                assert!(items.len() <= MAX_CONTEXT_ITEMS);
                assert!(items.iter().all(|i| i.transfer_syntaxes.len() <= MAX_TRANSFER_SYNTAXES));
            }
            Body::BindAck(results) => assert!(results.len() <= MAX_CONTEXT_ITEMS),
            Body::Request { stub, .. } => {
                for ndr in [Ndr::Ndr32, Ndr::Ndr64] {
                    if let Ok(msg) = kms::request_payload(stub, ndr) {
                        assert!(msg.len() <= kms::MAX_MESSAGE_LEN);
                        if let Ok(r) = kms::decode_request(msg) {
                            assert!(r.machine_name.chars().count() <= 64);
                        }
                    }
                }
            }
            Body::Response { stub, .. } => {
                for ndr in [Ndr::Ndr32, Ndr::Ndr64] {
                    if let Ok(s) = kms::response_payload(stub, ndr)
                        && let Ok(r) = kms::decode_response(s.message)
                    {
                        assert!(r.epid.chars().count() <= MAX_EPID_BYTES / 2);
                        let _ = kms::epid_info(&r.epid);
                    }
                }
            }
            Body::Fault { .. } | Body::Other => {}
        }
        rest = &rest[pdu.len..];
    }
    // The raw bytes as a KMS message of either direction.
    let _ = kms::decode_request(data);
    let _ = kms::decode_response(data);
});
