#![no_main]
use libfuzzer_sys::fuzz_target;
use wiretally::wire::http;

fuzz_target!(|data: &[u8]| {
    // The cheap checks must never reject what the full parser accepts.
    let is_req = http::looks_like_request(data);
    let is_resp = http::looks_like_response(data);
    let field_ok = |s: &Option<String>| s.as_ref().is_none_or(|s| s.len() <= http::MAX_FIELD_LEN);

    match http::parse_request(data) {
        Ok(Some(req)) => {
            assert!(is_req);
            assert!(req.head_len <= data.len() && req.head_len <= http::MAX_HEAD_LEN);
            assert!(req.method.len() <= http::MAX_FIELD_LEN);
            assert!(req.uri.len() <= http::MAX_URI_LEN);
            assert!(req.version <= 1);
            assert!(field_ok(&req.host) && field_ok(&req.user_agent));
            assert!(!req.uri.chars().any(char::is_control));
        }
        Ok(None) => assert!(is_req && data.len() < http::MAX_HEAD_LEN),
        Err(http::Error::NotHttp) => assert!(!is_req),
        Err(_) => assert!(is_req),
    }

    match http::parse_response(data) {
        Ok(Some(resp)) => {
            assert!(is_resp);
            assert!(resp.head_len <= data.len() && resp.head_len <= http::MAX_HEAD_LEN);
            assert!(resp.version <= 1);
            assert!(field_ok(&resp.server) && field_ok(&resp.content_type));
        }
        Ok(None) => assert!(is_resp && data.len() < http::MAX_HEAD_LEN),
        Err(http::Error::NotHttp) => assert!(!is_resp),
        Err(_) => assert!(is_resp),
    }
});
