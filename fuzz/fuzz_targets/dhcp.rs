#![no_main]
//! Fuzzes the DHCPv4 parser: it must never panic, must be deterministic, and every field it
//! returns must respect the caps documented in `wire::dhcp`.

use libfuzzer_sys::fuzz_target;
use wiretally::wire::dhcp;

fuzz_target!(|data: &[u8]| {
    let result = dhcp::parse(data);
    assert_eq!(result, dhcp::parse(data), "parse is not deterministic");
    match result {
        Ok(m) => {
            assert!(m.op == 1 || m.op == 2, "NotBootp was not enforced");
            assert!(m.param_request_list.len() <= dhcp::MAX_PARAM_REQUEST);
            assert!(
                m.client_id
                    .as_ref()
                    .is_none_or(|c| c.len() <= dhcp::MAX_CLIENT_ID)
            );
            for s in [&m.hostname, &m.client_fqdn, &m.vendor_class]
                .into_iter()
                .flatten()
            {
                assert!(s.chars().count() <= dhcp::MAX_STRING_CHARS);
                assert!(!s.chars().any(char::is_control), "control character leaked");
            }
            let _ = m.message_type.map(dhcp::MessageType::name);
        }
        Err(e) => {
            // Display must not panic either, and offsets must point inside the input.
            let _ = e.to_string();
            if let dhcp::Error::Truncated { offset }
            | dhcp::Error::BadOption { offset, .. }
            | dhcp::Error::TooManyOptions { offset } = e
            {
                assert!(offset <= data.len());
            }
        }
    }
});
