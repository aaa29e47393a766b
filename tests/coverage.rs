//! `wiretally coverage`: agent inventories in each format (CSV in UTF-8 and GBK, GLPI Agent
//! JSON, osquery results) against the Quick start capture, whose lab PC (198.18.0.114, MAC
//! 5e:ab:dd:dc:6a:34, DHCP name lab-pc-01, seen 17:37:43–17:37:47 UTC) shows Windows, Office,
//! Defender and Creative Cloud, and whose server (198.18.0.1) shows nothing.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `coverage --json` of the lab capture against these inventories; the document and stderr.
fn coverage(inventories: &[&Path], extra: &[&str]) -> (Value, String) {
    let mut args: Vec<String> = vec![
        "coverage".into(),
        "--json".into(),
        "--home-net".into(),
        "198.18.0.0/15".into(),
        "--signatures".into(),
        format!("{ROOT}/signatures"),
    ];
    for i in inventories {
        args.push("--inventory".into());
        args.push(i.display().to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(format!("{ROOT}/tests/data/lab.pcap"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = wiretally(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_utf8_csv_matches_by_mac_and_by_alias_and_reports_its_bad_rows() {
    let dir = temp_dir("coverage-csv");
    let csv = write(
        &dir,
        "assets.csv",
        b"ip,mac,hostname,software,version,publisher\n\
198.18.0.114,5E-AB-DD-DC-6A-34,LAB-PC-01.campus.example,Microsoft Office Professional Plus 2019 - zh-cn,16.0,Microsoft Corporation\n\
198.18.0.114,5E-AB-DD-DC-6A-34,LAB-PC-01.campus.example,Microsoft Windows 11 Pro,10.0,Microsoft Corporation\n\
198.18.0.114,5E-AB-DD-DC-6A-34,LAB-PC-01.campus.example,Some Internal Tool,1.0,Campus IT\n\
10.1.2.3,,OLD-PC,Microsoft Windows 10 Pro,,\n\
300.1.1.1,,BAD-PC,Notepad++,,\n\
,,,Orphan,,\n",
    );
    let (doc, stderr) = coverage(&[&csv], &[]);
    // The lab PC, found by its MAC (written the Windows way); Office through its alias despite
    // the language suffix, Windows through its alias; the network's other two products are
    // what its inventory lacks.
    let hosts = doc["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1, "{doc}");
    assert_eq!(hosts[0]["ip"], "198.18.0.114");
    assert_eq!(hosts[0]["matched_by"], "mac");
    assert_eq!(
        ids(&hosts[0]["missing_from_inventory"]),
        ["adobe.creative-cloud", "microsoft.defender"]
    );
    assert!(
        hosts[0]["not_seen_on_network"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The server has no record; OLD-PC was never seen.
    assert_eq!(doc["unmanaged_hosts"][0]["ip"], "198.18.0.1");
    assert_eq!(doc["stale_hosts"][0]["hostname"], "OLD-PC");
    assert_eq!(doc["stale_hosts"][0]["ip"], "10.1.2.3");
    assert_eq!(doc["coverage"]["overall"]["covered"], 1);
    assert_eq!(doc["coverage"]["overall"]["total"], 2);
    assert_eq!(doc["coverage"]["by_category"]["office"]["ratio"], 1.0);
    assert_eq!(doc["coverage"]["by_category"]["antivirus"]["ratio"], 0.0);
    let unmatched: Vec<&str> = doc["unmatched_software"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(unmatched, ["Some Internal Tool"]);
    // Bad rows: named by file and line, skipped, counted; the good rows were all read.
    let file = csv.display().to_string();
    assert!(
        stderr.contains(&format!("{file}:6: ip \"300.1.1.1\" is not an IP address")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{file}:7: no ip, mac or hostname")),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 inventory row(s) or entries skipped; 2 host(s) read"),
        "{stderr}"
    );
    assert_eq!(doc["problems"].as_array().unwrap().len(), 2);
}

#[test]
fn a_gbk_csv_with_chinese_headers_matches_by_host_name() {
    let dir = temp_dir("coverage-gbk");
    let text = "计算机名,软件名称,版本,发行商\n\
lab-pc-01.campus.example,Microsoft Windows 11 Pro,10.0,Microsoft Corporation\n\
lab-pc-01.campus.example,微软 Defender 防病毒,4.18,Microsoft Corporation\n\
lab-pc-01.campus.example,学生管理系统,2.0,教务处\n\
,孤立软件,1.0,某公司\n";
    let (gbk, _, lossy) = encoding_rs::GBK.encode(text);
    assert!(!lossy);
    assert!(std::str::from_utf8(&gbk).is_err(), "the file is really GBK");
    let csv = write(&dir, "台账.csv", &gbk);
    let (doc, stderr) = coverage(&[&csv], &[]);
    assert!(
        stderr.contains(&format!("{}:5: no ip, mac or hostname", csv.display())),
        "{stderr}"
    );
    let host = &doc["hosts"][0];
    assert_eq!(host["matched_by"], "hostname", "{doc}");
    assert_eq!(host["ip"], "198.18.0.114");
    assert_eq!(
        ids(&host["missing_from_inventory"]),
        ["adobe.creative-cloud", "microsoft.office"]
    );
    assert_eq!(doc["unmatched_software"][0]["name"], "学生管理系统");
    assert_eq!(doc["unmatched_software"][0]["publisher"], "教务处");
}

fn glpi(name: &str, ip: &str, mac: &str, logdate: &str, softwares: &str) -> String {
    format!(
        r#"{{"deviceid": "{name}-2026-12-01", "itemtype": "Computer", "content": {{
  "hardware": {{"name": "{name}", "uuid": "4C4C4544-0042"}},
  "accesslog": {{"logdate": "{logdate}"}},
  "operatingsystem": {{"full_name": "Microsoft Windows 11 Pro", "version": "23H2"}},
  "networks": [
    {{"description": "Loopback", "ipaddress": "127.0.0.1", "macaddr": "00:00:00:00:00:00"}},
    {{"description": "Ethernet", "ipaddress": "{ip}", "macaddr": "{mac}"}}
  ],
  "softwares": [{softwares}]
}}}}"#
    )
}

#[test]
fn glpi_inventories_match_by_address_only_within_the_time_the_network_saw_it() {
    let dir = temp_dir("coverage-glpi");
    let folder = dir.join("glpi");
    std::fs::create_dir_all(&folder).unwrap();
    // Taken (in China Standard Time, as GLPI writes it) while the lab PC held 198.18.0.114:
    // the same machine, though its name differs (its adapter reports no MAC).
    write(
        &folder,
        "pc.json",
        glpi(
            "ROOM-301-07",
            "198.18.0.114",
            "",
            "2026-12-05 01:37:45",
            r#"{"name": "Adobe Creative Cloud", "version": "6.4", "publisher": "Adobe Inc."}, {"version": "1.0"}"#,
        )
        .as_bytes(),
    );
    // Taken a year before, at the server's address: not the server.
    write(
        &folder,
        "old.json",
        glpi("OLD-LAPTOP", "198.18.0.1", "", "2025-12-01 09:00:00", "").as_bytes(),
    );
    // At the lab PC's address at the right time, but with a MAC the PC does not have: another
    // machine, whatever the address says.
    write(
        &folder,
        "conflict.json",
        glpi(
            "IMPOSTOR",
            "198.18.0.114",
            "02:00:00:00:00:99",
            "2026-12-05 01:37:46",
            "",
        )
        .as_bytes(),
    );
    let (doc, stderr) = coverage(&[&folder], &[]);
    let hosts = doc["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1, "{doc}");
    assert_eq!(hosts[0]["matched_by"], "ip");
    assert_eq!(hosts[0]["hostname"], "ROOM-301-07");
    assert_eq!(
        ids(&hosts[0]["missing_from_inventory"]),
        ["microsoft.defender", "microsoft.office"]
    );
    let stale: Vec<&str> = doc["stale_hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hostname"].as_str().unwrap())
        .collect();
    assert_eq!(stale, ["IMPOSTOR", "OLD-LAPTOP"]);
    assert_eq!(doc["unmanaged_hosts"][0]["ip"], "198.18.0.1");
    assert!(
        stderr.contains("pc.json:0: content.softwares[1]: no name"),
        "{stderr}"
    );
}

#[test]
fn osquery_results_in_both_forms_and_their_bad_lines() {
    let dir = temp_dir("coverage-osquery");
    let log = write(
        &dir,
        "osqueryd.results.log",
        br#"{"name":"pack_inventory_system_info","hostIdentifier":"lab-pc-01","unixTime":1796405864,"action":"snapshot","snapshot":[{"hostname":"lab-pc-01","computer_name":"LAB-PC-01","cpu_brand":"Intel"}]}
{"name":"pack_inventory_interface_details","hostIdentifier":"lab-pc-01","unixTime":1796405864,"action":"added","columns":{"interface":"Ethernet","mac":"5e:ab:dd:dc:6a:34"}}
{"name":"pack_inventory_programs","hostIdentifier":"lab-pc-01","unixTime":1796405864,"action":"added","columns":{"name":"Microsoft Office Professional Plus 2021 - en-us","version":"16.0.14332","publisher":"Microsoft Corporation"}}
{"name":"pack_inventory_programs","hostIdentifier":"lab-pc-01","unixTime":1796405864,"action":"added","columns":{"name":"MATLAB R2024a","version":"24.1","publisher":"MathWorks"}}
this line is not JSON
{"name":"pack_inventory_os_version","hostIdentifier":"lab-pc-01","unixTime":1796405864,"action":"added","columns":{"name":"Microsoft Windows 11 Pro","version":"10.0.22631","major":"10","platform":"windows"}}
"#,
    );
    let array = write(
        &dir,
        "osqueryi.json",
        br#"[{"name":"firefox-esr","version":"115.5.0esr-1","maintainer":"Debian Mozilla Team"},{"interface":"eth0","mac":"02:00:00:00:00:42","address":"10.9.9.9"}]"#,
    );
    let (doc, stderr) = coverage(&[&log, &array], &["--format", "osquery"]);
    let host = &doc["hosts"][0];
    assert_eq!(host["matched_by"], "mac", "{doc}");
    assert_eq!(host["hostname"], "LAB-PC-01");
    assert_eq!(
        ids(&host["missing_from_inventory"]),
        ["adobe.creative-cloud", "microsoft.defender"]
    );
    assert_eq!(ids(&host["not_seen_on_network"]), ["mathworks.matlab"]);
    assert!(
        stderr.contains(&format!("{}:5: not a JSON result line", log.display())),
        "{stderr}"
    );
    // The osqueryi array is one host the network never saw.
    assert_eq!(doc["stale_hosts"][0]["mac"], "02:00:00:00:00:42");
}

#[test]
fn the_csv_report_has_chinese_labels_for_excel() {
    let dir = temp_dir("coverage-csv-out");
    let inv = write(
        &dir,
        "assets.csv",
        b"hostname,software\nlab-pc-01,Microsoft Windows 11 Pro\n",
    );
    let out = dir.join("report.csv");
    coverage(&[&inv], &["--csv", out.to_str().unwrap(), "--lang", "zh"]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with('\u{feff}'), "a BOM for Excel");
    let mut rows = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    assert_eq!(
        rows.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "类别",
            "IP地址",
            "MAC地址",
            "计算机名",
            "产品标识",
            "产品",
            "软件类别",
            "说明"
        ]
    );
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert!(
        records
            .iter()
            .any(|r| &r[0] == "未纳管主机" && &r[1] == "198.18.0.1")
    );
    assert!(
        records
            .iter()
            .any(|r| &r[0] == "台账缺失软件" && &r[4] == "microsoft.office" && &r[6] == "办公软件")
    );
}

#[test]
fn the_xlsx_and_html_forms_hold_the_report_in_chinese() {
    use calamine::{Data, Reader, Xlsx};
    let dir = temp_dir("coverage-xlsx");
    let inv = write(
        &dir,
        "assets.csv",
        b"mac,hostname,software,publisher\n\
5e:ab:dd:dc:6a:34,lab-pc-01,Microsoft Windows 11 Pro,Microsoft Corporation\n\
5e:ab:dd:dc:6a:34,lab-pc-01,<script>alert(1)</script> Tool,Evil & Co\n",
    );
    let (xlsx, html) = (dir.join("coverage.xlsx"), dir.join("coverage.html"));
    coverage(
        &[&inv],
        &[
            "--xlsx",
            xlsx.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
    );

    let mut book: Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    assert_eq!(
        book.sheet_names(),
        [
            "软件资产覆盖核查",
            "覆盖率",
            "未纳管主机",
            "台账中未见主机",
            "台账缺失软件",
            "网络未见软件",
            "未识别软件",
            "告警"
        ]
    );
    let cell = |r: &calamine::Range<Data>, row: u32, col: u32| -> String {
        r.get_value((row, col))
            .map(|d| d.to_string())
            .unwrap_or_default()
    };
    let missing = book.worksheet_range("台账缺失软件").unwrap();
    let header: Vec<String> = (0..7).map(|c| cell(&missing, 0, c)).collect();
    assert_eq!(
        header,
        [
            "IP地址",
            "MAC地址",
            "计算机名",
            "产品标识",
            "产品",
            "软件类别",
            "匹配方式"
        ]
    );
    let rows: Vec<Vec<String>> = (1..missing.height() as u32)
        .map(|r| (0..7).map(|c| cell(&missing, r, c)).collect())
        .collect();
    assert_eq!(
        rows[0],
        [
            "198.18.0.114",
            "5e:ab:dd:dc:6a:34",
            "lab-pc-01",
            "adobe.creative-cloud",
            "Adobe Creative Cloud 创意套件",
            "其他",
            "mac"
        ]
    );
    assert_eq!(rows.len(), 3, "Creative Cloud, Defender, Office: {rows:?}");
    let coverage_sheet = book.worksheet_range("覆盖率").unwrap();
    let os_row = (1..coverage_sheet.height() as u32)
        .find(|&r| cell(&coverage_sheet, r, 0) == "操作系统")
        .expect("a row for operating systems");
    assert_eq!(
        coverage_sheet.get_value((os_row, 1)),
        Some(&Data::Float(1.0))
    );
    assert_eq!(
        coverage_sheet.get_value((os_row, 3)),
        Some(&Data::Float(100.0))
    );

    let page = std::fs::read_to_string(&html).unwrap();
    let dom = tl::parse(&page, tl::ParserOptions::default()).unwrap();
    let parser = dom.parser();
    let texts = |selector: &str| -> Vec<String> {
        dom.query_selector(selector)
            .unwrap()
            .filter_map(|h| h.get(parser))
            .map(|n| n.inner_text(parser).to_string())
            .collect()
    };
    assert_eq!(texts("h1"), ["软件资产覆盖核查"]);
    assert_eq!(
        texts("h2"),
        [
            "覆盖率",
            "未纳管主机",
            "台账中未见主机",
            "台账缺失软件",
            "网络未见软件",
            "未识别软件",
            "告警"
        ]
    );
    assert!(
        texts("td").iter().any(|t| t == "198.18.0.1"),
        "the unmanaged server"
    );
    // Inventory text is escaped: no script element, the name shown as text.
    assert_eq!(dom.query_selector("script").unwrap().count(), 0);
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; Tool"));
    // The chart: one bar per category with data (os, office, antivirus, other).
    assert_eq!(dom.query_selector("rect").unwrap().count(), 4);
}

#[test]
fn a_state_folder_gives_the_same_cross_check_as_the_capture() {
    let dir = temp_dir("coverage-state");
    let state = dir.join("state");
    let out = wiretally(&[
        "analyze",
        "--home-net",
        "198.18.0.0/15",
        "--signatures",
        &format!("{ROOT}/signatures"),
        "--state-dir",
        state.to_str().unwrap(),
        &format!("{ROOT}/tests/data/lab.pcap"),
    ]);
    assert!(out.status.success());
    let inv = write(
        &dir,
        "assets.csv",
        b"hostname,software\nlab-pc-01,Microsoft Windows 11 Pro\n",
    );
    let (from_capture, _) = coverage(&[&inv], &[]);
    let saved = std::fs::read(state.join("inventory.json")).unwrap();
    let out = wiretally(&[
        "coverage",
        "--json",
        "--signatures",
        &format!("{ROOT}/signatures"),
        "--inventory",
        inv.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let from_state: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_state, from_capture);
    assert_eq!(
        std::fs::read(state.join("inventory.json")).unwrap(),
        saved,
        "coverage reads the state and writes nothing"
    );
}

#[test]
fn mac_matches_come_first_and_shared_names_pair_nothing() {
    let dir = temp_dir("coverage-priority");
    // The first row names the lab PC; the second carries its MAC under another name. The MAC
    // wins whatever the row order, and the name alone then pairs nothing.
    let csv = write(
        &dir,
        "assets.csv",
        b"ip,mac,hostname,software\n\
,,lab-pc-01,Microsoft Windows 11 Pro\n\
,5e:ab:dd:dc:6a:34,RENAMED-PC,Microsoft Windows 11 Pro\n",
    );
    let (doc, _) = coverage(&[&csv], &[]);
    let hosts = doc["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1, "{doc}");
    assert_eq!(hosts[0]["matched_by"], "mac");
    assert_eq!(hosts[0]["hostname"], "RENAMED-PC");
    assert_eq!(doc["stale_hosts"][0]["hostname"], "lab-pc-01");
    // Two inventories each hold a host of the lab PC's name: neither can be told to be it.
    let a = write(
        &dir,
        "lab-a.csv",
        b"hostname,ip,software\nlab-pc-01,10.0.0.1,WinRAR\n",
    );
    let b = write(
        &dir,
        "lab-b.csv",
        b"hostname,ip,software\nlab-pc-01.other.example,10.0.0.2,WinRAR\n",
    );
    let (doc, _) = coverage(&[&a, &b], &[]);
    assert!(doc["hosts"].as_array().unwrap().is_empty(), "{doc}");
    assert_eq!(doc["stale_hosts"].as_array().unwrap().len(), 2);
}

#[test]
fn a_csv_date_column_places_an_address_in_time() {
    let dir = temp_dir("coverage-csv-date");
    // The server's address, inventoried (China Standard Time) while the capture saw it, and a
    // laptop at the PC's address a month before; a day alone does not place anything.
    let csv = write(
        &dir,
        "assets.csv",
        "ip,hostname,software,采集时间\n\
198.18.0.1,SRV-01,Microsoft Windows Server 2022 Standard,2026-12-05 01:37:45\n\
198.18.0.114,OLD-LAPTOP,WinRAR,2026-11-04 09:00:00\n\
10.7.7.7,DAY-ONLY,WinRAR,2026-12-05\n\
10.7.7.8,BAD-DATE,WinRAR,yesterday\n"
            .as_bytes(),
    );
    let (doc, stderr) = coverage(&[&csv], &[]);
    let hosts = doc["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1, "{doc}");
    assert_eq!(hosts[0]["ip"], "198.18.0.1");
    assert_eq!(hosts[0]["matched_by"], "ip");
    let stale: Vec<&str> = doc["stale_hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hostname"].as_str().unwrap())
        .collect();
    assert_eq!(stale, ["OLD-LAPTOP", "DAY-ONLY"]);
    assert!(
        stderr.contains(&format!("{}:5: date \"yesterday\"", csv.display())),
        "{stderr}"
    );
}
