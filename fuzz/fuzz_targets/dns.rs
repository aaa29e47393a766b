//! Fuzz target for the DNS parser: any input must parse or fail cleanly, and what parses must
//! respect the module's documented bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretally::wire::dns::{self, RData};

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = dns::parse(data) {
        assert!(message.questions.len() <= dns::MAX_QUESTIONS);
        let records = message
            .answers
            .iter()
            .chain(&message.authorities)
            .chain(&message.additionals);
        assert!(records.clone().count() <= dns::MAX_RECORDS);
        let question_names = message.questions.iter().map(|q| q.name.as_str());
        let record_names = records.flat_map(|r| {
            let target = match &r.data {
                RData::Cname(n) | RData::Ptr(n) | RData::Srv { target: n, .. } => Some(n.as_str()),
                _ => None,
            };
            std::iter::once(r.name.as_str()).chain(target)
        });
        for name in question_names.chain(record_names) {
            assert!(!name.is_empty() && name.len() <= dns::MAX_NAME_PRESENTATION_LEN);
            // Escaping leaves only [A-Za-z0-9._-\\] in names: nothing a log line could misread.
            assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-\\".contains(&b)));
        }
        // Parsing is a pure function of the bytes.
        assert_eq!(dns::parse(data), Ok(message));
    }

    // Walk the input as a TCP stream: every frame is accounted for, consumed + rest == input.
    let mut rest = data;
    while let Ok(Some((frame, consumed))) = dns::split_tcp_message(rest) {
        assert!(consumed <= rest.len());
        assert_eq!(consumed, frame.len() + 2);
        assert_eq!(frame, &rest[2..consumed]);
        let _ = dns::parse(frame);
        rest = &rest[consumed..];
    }
});
