//! Fuzz target for the HTTP API's request parsing: any method, path and query string gives a
//! request or a 4xx answer, never a panic or a 5xx.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretally::serve::routes;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let method = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("");
    let query = parts.next().unwrap_or("");
    if let Err(answer) = routes::parse(method, path, query) {
        assert!((400..500).contains(&answer.status), "{answer:?}");
    }
});
