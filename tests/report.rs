//! `wiretally report`: the half-yearly legalization report on the Quick start capture, judged by
//! the example configuration (config/wiretally.toml: a KMS host list that does not hold the
//! lab's, and a ledger with Windows and Office), read back from XLSX with calamine and from
//! HTML with a parser.

mod common;

use calamine::{Data, Range, Reader, Xlsx};
use common::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs `report` on the lab capture with the example configuration; extra arguments appended.
fn report(extra: &[&str]) {
    let mut args = vec![
        "report".to_string(),
        "--home-net".into(),
        "198.18.0.0/15".into(),
        "--config".into(),
        format!("{ROOT}/config/wiretally.toml"),
        "--sensor-name".into(),
        "campus-a".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(format!("{ROOT}/tests/data/lab.pcap"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = wiretally(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rows(range: &Range<Data>) -> Vec<Vec<String>> {
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

#[test]
fn the_half_year_report_on_the_quick_start_capture() {
    let dir = temp_dir("report");
    let (xlsx, html) = (dir.join("2026H2.xlsx"), dir.join("2026H2.html"));
    report(&[
        "--period",
        "2026H2",
        "--xlsx",
        xlsx.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    let mut book: Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    assert_eq!(
        book.sheet_names(),
        [
            "软件正版化核查报告",
            "软件产品",
            "微软产品激活方式",
            "未授权激活与许可证服务器",
            "无许可证与超量使用",
            "台账许可数（生成时）"
        ]
    );
    let cover = rows(&book.worksheet_range("软件正版化核查报告").unwrap());
    assert_eq!(cover[0][0], "软件正版化核查报告");
    assert_eq!(
        cover[2][..2],
        ["核查周期", "2026H2 (2026-07-01 – 2026-12-31)"]
    );
    assert_eq!(cover[3][..2], ["传感器", "campus-a"]);
    assert_eq!(cover[4][0], "生成时间");
    assert_eq!(cover[5][..2], ["周期内发现主机数", "2"]);

    let products = rows(&book.worksheet_range("软件产品").unwrap());
    assert_eq!(
        products[0],
        ["软件类别", "产品标识", "产品", "厂商", "主机数"]
    );
    assert_eq!(products.len(), 5, "{products:?}");
    assert!(products.contains(&vec![
        "办公软件".to_string(),
        "microsoft.office".into(),
        "微软 Office / Microsoft 365 应用".into(),
        "Microsoft".into(),
        "1".into()
    ]));

    // Windows looked up the lab's KMS host, which the example policy does not authorize; Office
    // checked its licence online.
    let activation = rows(&book.worksheet_range("微软产品激活方式").unwrap());
    assert_eq!(
        activation[1][..3],
        ["未授权服务器", "微软 Windows", "198.18.0.114"]
    );
    assert_eq!(
        activation[2][..3],
        [
            "厂商在线激活",
            "微软 Office / Microsoft 365 应用",
            "198.18.0.114"
        ]
    );
    assert_eq!(activation[1][4], "lab-pc-01");

    let servers = rows(&book.worksheet_range("未授权激活与许可证服务器").unwrap());
    assert_eq!(servers.len(), 2);
    assert_eq!(
        servers[1][..3],
        ["未授权激活服务器", "high", "198.18.0.114"]
    );
    let unlicensed = rows(&book.worksheet_range("无许可证与超量使用").unwrap());
    assert_eq!(unlicensed[1][0], "无许可证软件");
    assert_eq!(unlicensed[1][4], "adobe.creative-cloud");
    let seats = rows(&book.worksheet_range("台账许可数（生成时）").unwrap());
    assert_eq!(
        seats[1..],
        [
            ["microsoft.office", "500", "1"],
            ["microsoft.windows", "1200", "1"]
        ]
    );

    let page = std::fs::read_to_string(&html).unwrap();
    let dom = tl::parse(&page, tl::ParserOptions::default()).unwrap();
    let parser = dom.parser();
    let text = |sel: &str| -> Vec<String> {
        dom.query_selector(sel)
            .unwrap()
            .filter_map(|h| h.get(parser))
            .map(|n| n.inner_text(parser).to_string())
            .collect()
    };
    assert_eq!(text("h1"), ["软件正版化核查报告"]);
    assert_eq!(text("dd")[0], "2026H2 (2026-07-01 – 2026-12-31)");
    assert_eq!(text("h2").len(), 5);
    // One bar per category, each the number of machines with a product of it: the lab PC has
    // one of every category but industrial.
    // (Each bar's <title>; the page's own <title> comes first.)
    assert_eq!(
        text("title")[1..],
        [
            "操作系统 1",
            "办公软件 1",
            "杀毒软件 1",
            "工业软件 0",
            "其他 1"
        ]
    );
}

#[test]
fn another_period_is_empty_and_english_labels_on_request() {
    let dir = temp_dir("report-en");
    let xlsx = dir.join("2026H1.xlsx");
    report(&[
        "--period",
        "2026H1",
        "--lang",
        "en",
        "--xlsx",
        xlsx.to_str().unwrap(),
    ]);
    let mut book: Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    assert_eq!(
        book.sheet_names()[..3],
        [
            "Software legalization check",
            "Products",
            "Microsoft activation"
        ]
    );
    let products = rows(&book.worksheet_range("Products").unwrap());
    assert_eq!(
        products,
        [["category", "product id", "product", "vendor", "machines"]]
    );

    let out = wiretally(&["report", "--period", "2026H3", "--xlsx", "x.xlsx", "x.pcap"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a period is written YYYYH1 or YYYYH2"));
}

#[test]
fn with_agent_inventories_the_report_adds_the_coverage_tables() {
    let dir = temp_dir("report-coverage");
    let inv = dir.join("assets.csv");
    std::fs::write(
        &inv,
        "hostname,software\nlab-pc-01,Microsoft Windows 11 Pro\nOLD-PC,WinRAR\n",
    )
    .unwrap();
    let xlsx = dir.join("r.xlsx");
    report(&[
        "--period",
        "2026H2",
        "--inventory",
        inv.to_str().unwrap(),
        "--xlsx",
        xlsx.to_str().unwrap(),
    ]);
    let mut book: Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let names = book.sheet_names();
    assert_eq!(
        names[6..],
        [
            "覆盖率",
            "未纳管主机",
            "台账中未见主机",
            "台账缺失软件",
            "网络未见软件",
            "未识别软件"
        ]
    );
    let stale = rows(&book.worksheet_range("台账中未见主机").unwrap());
    assert_eq!(stale[1][0], "OLD-PC");
}
