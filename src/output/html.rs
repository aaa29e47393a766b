//! A [`Document`] as one self-contained HTML page: inline style, SVG bar charts, and the tables;
//! every text is escaped.

use super::{Chart, Document};
use std::fmt::Write as _;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A horizontal bar chart as inline SVG.
fn chart(c: &Chart) -> String {
    const BAR: usize = 22;
    const LABEL: usize = 200;
    const WIDTH: usize = 360;
    let max = c.bars.iter().map(|(_, v)| *v).fold(0.0f64, f64::max);
    let height = c.bars.len() * BAR + 8;
    let mut s = format!(
        "<figure><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{}\" height=\"{height}\">",
        escape(&c.title),
        LABEL + WIDTH + 80
    );
    for (i, (label, value)) in c.bars.iter().enumerate() {
        let y = i * BAR + 4;
        let w = if max > 0.0 {
            (value / max * WIDTH as f64).round() as usize
        } else {
            0
        };
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"#3a6ea5\"><title>{} {}{}</title></rect><text x=\"{}\" y=\"{}\">{}{}</text>",
            LABEL - 6,
            y + 15,
            escape(label),
            LABEL,
            BAR - 6,
            escape(label),
            number(*value),
            escape(&c.unit),
            LABEL + w + 6,
            y + 15,
            number(*value),
            escape(&c.unit),
        );
    }
    s.push_str("</svg></figure>\n");
    s
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v:.1}")
    }
}

/// The page.
pub fn page(doc: &Document, lang: &str) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}\
th,td{{border:1px solid #bbb;padding:3px 8px;text-align:left;vertical-align:top}}th{{background:#eef}}\
figure{{display:inline-block;margin:1em 2em 1em 0}}figcaption{{font-weight:bold}}svg text{{font-size:12px}}\
dl.cover dt{{font-weight:bold;float:left;clear:left;width:12em}}dl.cover dd{{margin-left:13em}}\
</style></head><body>\n<h1>{}</h1>\n<dl class=\"cover\">",
        escape(lang),
        escape(&doc.title),
        escape(&doc.title)
    );
    for (label, value) in &doc.cover {
        let _ = write!(s, "<dt>{}</dt><dd>{}</dd>", escape(label), escape(value));
    }
    s.push_str("</dl>\n");
    for c in &doc.charts {
        s.push_str(&chart(c));
    }
    for t in &doc.tables {
        let _ = write!(
            s,
            "<section><h2>{}</h2>\n<table><thead><tr>",
            escape(&t.title)
        );
        for h in &t.headers {
            let _ = write!(s, "<th>{}</th>", escape(h));
        }
        s.push_str("</tr></thead><tbody>\n");
        for row in &t.rows {
            s.push_str("<tr>");
            for cell in row {
                let _ = write!(s, "<td>{}</td>", escape(&cell.text()));
            }
            s.push_str("</tr>\n");
        }
        s.push_str("</tbody></table></section>\n");
    }
    s.push_str("</body></html>\n");
    s
}
