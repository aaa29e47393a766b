//! Reports for people: a document of titled tables (and bar charts), rendered as an XLSX
//! workbook (one sheet per table, frozen header row, filters) or as one self-contained HTML page
//! with SVG charts. [`crate::coverage`] and [`crate::compliance`] build them.

pub mod html;
pub mod xlsx;

/// A cell's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number.
    Number(f64),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

impl Cell {
    /// The cell as text.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => format!("{n:.3}"),
        }
    }
}

/// One table: a sheet of the workbook, a section of the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Title (the sheet's name: at most 31 characters, none of `[]:*?/\`).
    pub title: String,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows, as long as the headers.
    pub rows: Vec<Vec<Cell>>,
}

/// A bar chart: labelled values.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Title.
    pub title: String,
    /// Bars: label and value.
    pub bars: Vec<(String, f64)>,
    /// Unit shown after each value (`%`, or empty).
    pub unit: String,
}

/// A whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Title.
    pub title: String,
    /// Cover lines: label and value (period, sensor, generation time…).
    pub cover: Vec<(String, String)>,
    /// Charts, shown on the page before the tables.
    pub charts: Vec<Chart>,
    /// The tables.
    pub tables: Vec<Table>,
}
