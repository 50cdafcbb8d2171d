//! Aligned text tables for listings a person reads (woof-ls, woof-forward
//! --status): a heading, two spaces between columns, each column as wide as its
//! widest cell, the last one unpadded.

use std::io::{self, Write};

/// How a column lines up.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    /// Numbers and ages.
    Right,
}

/// Writes `head` and `rows` (each as many cells as `head`) aligned as `align` says.
pub fn write(
    out: &mut dyn Write,
    head: &[&str],
    align: &[Align],
    rows: &[Vec<String>],
) -> io::Result<()> {
    let mut width: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, cells: &[&str]| -> io::Result<()> {
        let mut text = String::new();
        let last = cells.len().saturating_sub(1);
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let w = width[i];
            match (i == last, align.get(i).copied().unwrap_or(Align::Left)) {
                (true, _) => text.push_str(c),
                (false, Align::Left) => text.push_str(&format!("{c:<w$}")),
                (false, Align::Right) => text.push_str(&format!("{c:>w$}")),
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, head)?;
    for r in rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        line(out, &cells)?;
    }
    Ok(())
}
