//! A small PDF 1.4 writer: Helvetica and Helvetica-Bold text lines on US Letter pages, with
//! automatic wrapping and page breaks, WinAnsi-safe text and a correct cross-reference table.
//! Enough for printable summaries without another dependency.

const PAGE_W: f64 = 612.0;
const PAGE_H: f64 = 792.0;
const MARGIN: f64 = 56.0;

#[derive(Clone, Copy, PartialEq)]
enum Font {
    Regular,
    Bold,
}

struct Line {
    font: Font,
    size: f64,
    x: f64,
    y: f64,
    text: Vec<u8>,
}

/// A document being written top to bottom.
pub struct Document {
    pages: Vec<Vec<Line>>,
    y: f64,
}

impl Default for Document {
    fn default() -> Self {
        Self::new()
    }
}

/// Encodes text for a WinAnsi literal string: Latin-1 as is, common typographic characters
/// mapped to their WinAnsi codes, anything else replaced by `?`.
pub fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '\t' => b' ',
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '™' => 0x99,
            _ => b'?',
        })
        .collect()
}

/// Escapes a WinAnsi byte string for a PDF literal string `( … )`.
fn escape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    for &b in bytes {
        if matches!(b, b'\\' | b'(' | b')') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// Approximate Helvetica advance widths (per 1000 units) for wrapping: narrow, wide and average.
fn char_width(b: u8, font: Font) -> f64 {
    let w = match b {
        b'i' | b'j' | b'l' | b'.' | b',' | b':' | b';' | b'\'' | b'!' | b'|' | b' ' => 278.0,
        b'f' | b't' | b'r' | b'I' | b'(' | b')' | b'-' | b'/' => 333.0,
        b'm' | b'M' | b'W' => 833.0,
        b'w' => 722.0,
        b'A'..=b'Z' => 667.0,
        b'0'..=b'9' => 556.0,
        _ => 556.0,
    };
    if font == Font::Bold { w * 1.05 } else { w }
}

fn width(bytes: &[u8], font: Font, size: f64) -> f64 {
    bytes.iter().map(|b| char_width(*b, font)).sum::<f64>() * size / 1000.0
}

/// Splits text into lines no wider than `max` points, at spaces where possible.
fn wrap(text: &[u8], font: Font, size: f64, max: f64) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    for word in text.split(|b| *b == b' ') {
        let candidate_w = if line.is_empty() {
            width(word, font, size)
        } else {
            width(&line, font, size) + width(b" ", font, size) + width(word, font, size)
        };
        if candidate_w <= max {
            if !line.is_empty() {
                line.push(b' ');
            }
            line.extend_from_slice(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // A word longer than the line is cut.
        let mut rest = word;
        while width(rest, font, size) > max {
            let mut n = rest.len();
            while n > 1 && width(&rest[..n], font, size) > max {
                n -= 1;
            }
            lines.push(rest[..n].to_vec());
            rest = &rest[n..];
        }
        line.extend_from_slice(rest);
    }
    lines.push(line);
    lines
}

impl Document {
    pub fn new() -> Self {
        Self { pages: vec![Vec::new()], y: PAGE_H - MARGIN }
    }

    fn write(&mut self, font: Font, size: f64, indent: f64, text: &str) {
        let leading = size * 1.35;
        for l in wrap(&win_ansi(text), font, size, PAGE_W - 2.0 * MARGIN - indent) {
            if self.y - leading < MARGIN + 20.0 {
                self.pages.push(Vec::new());
                self.y = PAGE_H - MARGIN;
            }
            self.y -= leading;
            let y = self.y;
            if let Some(page) = self.pages.last_mut() {
                page.push(Line { font, size, x: MARGIN + indent, y, text: l });
            }
        }
    }

    fn gap(&mut self, points: f64) {
        self.y -= points;
    }

    pub fn title(&mut self, text: &str) {
        self.write(Font::Bold, 16.0, 0.0, text);
        self.gap(2.0);
    }

    pub fn heading(&mut self, text: &str) {
        self.gap(8.0);
        self.write(Font::Bold, 12.0, 0.0, text);
    }

    pub fn text(&mut self, text: &str) {
        for para in text.lines() {
            self.write(Font::Regular, 10.0, 0.0, para);
        }
    }

    pub fn small(&mut self, text: &str) {
        self.write(Font::Regular, 8.0, 0.0, text);
    }

    /// A label in bold on its own line, then its value indented.
    pub fn field(&mut self, label: &str, value: &str) {
        self.write(Font::Bold, 10.0, 0.0, label);
        let value = if value.trim().is_empty() { "—" } else { value };
        for para in value.lines() {
            self.write(Font::Regular, 10.0, 12.0, para);
        }
    }

    /// The finished file: header, catalog, pages tree, two fonts, one page and content stream
    /// per page (with a page-number footer), the xref table and the trailer.
    pub fn finish(self) -> Vec<u8> {
        let n_pages = self.pages.len();
        let mut objects: Vec<Vec<u8>> = Vec::new();
        // 1 catalog, 2 pages, 3 Helvetica, 4 Helvetica-Bold, then page k: 5 + 2k, content 6 + 2k.
        objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
        let kids: Vec<String> = (0..n_pages).map(|k| format!("{} 0 R", 5 + 2 * k)).collect();
        objects.push(format!("<< /Type /Pages /Kids [{}] /Count {n_pages} >>", kids.join(" ")).into_bytes());
        objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec());
        objects.push(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec());
        for (k, lines) in self.pages.iter().enumerate() {
            objects.push(
                format!(
                    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                    6 + 2 * k
                )
                .into_bytes(),
            );
            let mut content: Vec<u8> = Vec::new();
            let footer = Line {
                font: Font::Regular,
                size: 8.0,
                x: MARGIN,
                y: MARGIN - 16.0,
                text: win_ansi(&format!("Page {} of {n_pages}", k + 1)),
            };
            for l in lines.iter().chain(std::iter::once(&footer)) {
                let f = if l.font == Font::Bold { "F2" } else { "F1" };
                content.extend_from_slice(format!("BT /{f} {:.1} Tf {:.2} {:.2} Td (", l.size, l.x, l.y).as_bytes());
                content.extend_from_slice(&escape(&l.text));
                content.extend_from_slice(b") Tj ET\n");
            }
            let mut obj = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
            obj.extend_from_slice(&content);
            obj.extend_from_slice(b"endstream");
            objects.push(obj);
        }
        let mut out: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
            out.extend_from_slice(body);
            out.extend_from_slice(b"\nendobj\n");
        }
        let xref = out.len();
        out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the xref table: every in-use entry points at `N 0 obj`, and startxref at `xref`.
    fn check_xref(pdf: &[u8]) {
        let text = String::from_utf8_lossy(pdf);
        let start: usize =
            text.rsplit("startxref\n").next().and_then(|s| s.lines().next()).and_then(|s| s.trim().parse().ok()).expect("startxref");
        assert!(pdf[start..].starts_with(b"xref\n"), "startxref points at the xref table");
        let table = String::from_utf8_lossy(&pdf[start..]);
        let mut lines = table.lines().skip(1);
        let header = lines.next().expect("subsection header");
        let count: usize = header.split(' ').nth(1).and_then(|n| n.parse().ok()).expect("count");
        for (n, entry) in lines.take(count).enumerate() {
            assert_eq!(entry.len(), 19, "entries are 20 bytes with their newline: {entry:?}");
            if n == 0 {
                assert!(entry.ends_with("f "), "the free head: {entry:?}");
                continue;
            }
            let offset: usize = entry[..10].parse().expect("offset");
            let expected = format!("{n} 0 obj");
            assert!(pdf[offset..].starts_with(expected.as_bytes()), "object {n} at {offset}");
        }
    }

    #[test]
    fn writes_a_valid_pdf_with_pages_and_escaped_text() {
        let mut d = Document::new();
        d.title("Discharge summary: Ana (Annie) O\\Brien");
        d.field("MRN", "0000042");
        for i in 0..120 {
            d.text(&format!("Line {i}: café – “quoted” 漢字 and a long sentence that wraps across the width of the page because it keeps going and going"));
        }
        let pdf = d.finish();
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        check_xref(&pdf);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("0000042"), "the MRN is in the file");
        assert!(text.contains("Ana \\(Annie\\) O\\\\Brien"), "parentheses and backslashes escaped");
        let pages: usize = text.split("/Count ").nth(1).and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok()).unwrap();
        assert!(pages >= 3, "automatic page breaks: {pages} pages");
        assert!(text.contains(&format!("Page {pages} of {pages}")), "page numbers");
        assert!(pdf.windows(4).any(|w| w == b"caf\xe9"), "Latin-1 kept");
        assert!(pdf.contains(&0x96) && !text.contains('漢'), "en dash mapped, other characters replaced");
    }

    #[test]
    fn wraps_long_words() {
        let lines = wrap(&[b'x'; 400], Font::Regular, 10.0, 100.0);
        assert!(lines.len() > 1 && lines.iter().all(|l| width(l, Font::Regular, 10.0) <= 100.0));
    }
}
