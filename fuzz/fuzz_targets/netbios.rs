#![no_main]
use libfuzzer_sys::fuzz_target;
use wiretally::wire::netbios;

fuzz_target!(|data: &[u8]| {
    // Any input: no panic, and a parsed message stays within every documented cap.
    if let Ok(msg) = netbios::parse(data) {
        assert!(msg.names.len() <= 4 * netbios::MAX_ENTRIES_PER_SECTION);
        for entry in &msg.names {
            assert!(entry.name.len() <= netbios::MAX_NAME_TEXT_LEN);
            assert!(entry.name.bytes().all(|b| (0x20..0x7f).contains(&b)));
            if let Some(scope) = &entry.scope {
                assert!(scope.len() <= netbios::MAX_SCOPE_TEXT_LEN);
            }
            assert!(entry.addresses.len() <= netbios::MAX_ADDRESSES_PER_RECORD);
            assert!(entry.node_names.len() <= netbios::MAX_NODE_NAMES);
        }
    }
});
