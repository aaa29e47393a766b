//! `wiretally signatures check` on the shipped packs and on a broken one.

mod common;

#[test]
fn shipped_packs_pass_their_check() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/signatures");
    let out = common::wiretally(&["signatures", "check", dir]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("all examples pass"));
}

#[test]
fn a_broken_pack_fails_with_file_and_line() {
    let dir = common::temp_dir("broken-pack");
    let pack = r#"[[product]]
id = "example.tool"
name = "Example Tool"
name_zh = "示例工具"
vendor = "Example"
category = "industrial"
license = "commercial"

[[product.rule]]
id = "example.tool.licensing"
kind = "license-check"
domain_suffix = "licensing.example.com"
weight = 0.9
source = "https://example.com/docs/firewall"
match = ["lic.licensing.example.org"]
no_match = ["example.com"]
colour = "blue"
"#;
    std::fs::write(dir.join("example.toml"), pack).unwrap();
    let out = common::wiretally(&["signatures", "check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("example.toml:17: unknown field `colour`"),
        "{stderr}"
    );
    std::fs::write(
        dir.join("example.toml"),
        pack.replace("colour = \"blue\"\n", ""),
    )
    .unwrap();
    let out = common::wiretally(&["signatures", "check", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("example.toml:10: rule example.tool.licensing: does not match its example \"lic.licensing.example.org\""), "{stderr}");
}
