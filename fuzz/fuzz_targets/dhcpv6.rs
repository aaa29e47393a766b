#![no_main]
//! Fuzzes the DHCPv6 parser: it must never panic, must be deterministic, and every field it
//! returns must respect the caps documented in `wire::dhcpv6`.

use libfuzzer_sys::fuzz_target;
use wiretally::wire::dhcpv6;

fuzz_target!(|data: &[u8]| {
    let result = dhcpv6::parse(data);
    assert_eq!(result, dhcpv6::parse(data), "parse is not deterministic");
    match result {
        Ok(m) => {
            assert!(
                m.transaction_id < 1 << 24,
                "transaction id wider than 24 bits"
            );
            assert!(m.option_request.len() <= dhcpv6::MAX_OPTION_REQUEST);
            assert!(m.addresses.len() <= dhcpv6::MAX_ADDRESSES);
            for duid in [&m.client_duid, &m.server_duid].into_iter().flatten() {
                assert!(duid.len() <= dhcpv6::MAX_DUID_LEN);
                assert!(dhcpv6::duid_to_string(duid).len() <= 3 * dhcpv6::MAX_DUID_LEN);
            }
            let mut strings: Vec<&String> = m.fqdn.iter().collect();
            if let Some(v) = &m.vendor_class {
                assert!(v.data.len() <= dhcpv6::MAX_VENDOR_STRINGS);
                strings.extend(&v.data);
            }
            for s in strings {
                assert!(s.chars().count() <= dhcpv6::MAX_STRING_CHARS);
                assert!(!s.chars().any(char::is_control), "control character leaked");
            }
            let _ = m.msg_type.name();
        }
        Err(e) => {
            // Display must not panic either, and offsets must point inside the input.
            let _ = e.to_string();
            if let dhcpv6::Error::Truncated { offset }
            | dhcpv6::Error::BadOption { offset, .. }
            | dhcpv6::Error::RelayTooDeep { offset }
            | dhcpv6::Error::MissingRelayMessage { offset }
            | dhcpv6::Error::TooManyOptions { offset } = e
            {
                assert!(offset <= data.len());
            }
        }
    }
});
