//! A [`Document`] as an XLSX workbook (rust_xlsxwriter): a cover sheet, then one sheet per
//! table with a bold, frozen header row and filters on every column.

use super::{Cell, Document};
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// Rows a sheet holds at most below its header (Excel's limit is 1,048,576 rows).
const MAX_ROWS: usize = 1_048_574;

/// Widest column set, in characters.
const MAX_WIDTH: usize = 60;

/// The workbook's bytes.
pub fn workbook(doc: &Document) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let cover = book.add_worksheet();
    cover.set_name(sheet_name(&doc.title))?;
    cover.write_string_with_format(0, 0, &doc.title, &bold)?;
    for (i, (label, value)) in doc.cover.iter().enumerate() {
        let row = i as u32 + 2;
        cover.write_string_with_format(row, 0, label, &bold)?;
        cover.write_string(row, 1, value)?;
    }
    cover.set_column_width(0, 24)?;
    cover.set_column_width(1, 48)?;
    for table in &doc.tables {
        let sheet = book.add_worksheet();
        sheet.set_name(sheet_name(&table.title))?;
        let mut widths: Vec<usize> = table.headers.iter().map(|h| display_width(h)).collect();
        for (c, h) in table.headers.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, h, &bold)?;
        }
        for (r, row) in table.rows.iter().enumerate().take(MAX_ROWS) {
            for (c, cell) in row.iter().enumerate().take(table.headers.len()) {
                let (row, col) = (r as u32 + 1, c as u16);
                match cell {
                    Cell::Text(t) => sheet.write_string(row, col, t)?,
                    Cell::Number(n) => sheet.write_number(row, col, *n)?,
                };
                widths[c] = widths[c].max(display_width(&cell.text()));
            }
        }
        for (c, w) in widths.iter().enumerate() {
            sheet.set_column_width(c as u16, (*w).clamp(6, MAX_WIDTH) as f64 + 2.0)?;
        }
        if table.rows.len() > MAX_ROWS {
            sheet.write_string(
                MAX_ROWS as u32 + 1,
                0,
                format!(
                    "… {} more rows than a sheet holds are left out",
                    table.rows.len() - MAX_ROWS
                ),
            )?;
        }
        sheet.set_freeze_panes(1, 0)?;
        if !table.headers.is_empty() {
            sheet.autofilter(
                0,
                0,
                table.rows.len().min(MAX_ROWS) as u32,
                table.headers.len() as u16 - 1,
            )?;
        }
    }
    book.save_to_buffer()
}

/// A title as Excel allows sheet names: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(title: &str) -> String {
    title
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '-' } else { c })
        .take(31)
        .collect()
}

/// Width in Excel's character units: CJK characters take two.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| if c as u32 > 0x2e80 { 2 } else { 1 })
        .sum()
}
