//! Printable documents (the discharge summary) as PDF: text lines on US Letter pages, with
//! automatic wrapping, page breaks, page numbers and a boxed notice, written by
//! [krilla](https://docs.rs/krilla). The text is shaped (rustybuzz), laid out right to left where
//! the Unicode bidi algorithm says so (Arabic, Hebrew), and each font is embedded as a subset with
//! a Unicode map, so any name prints and can be searched and copied: Nguyễn Thị Hương, Zoë Brontë,
//! Пётр Чайковский, محمد عبد الله, 李小龙.
//!
//! Fonts — no font file lives in this repository:
//! - **DejaVu Sans** (Book and Bold) is compiled into the binary from the crates.io crate
//!   `dejavu` (the DejaVu 2.37 release; Bitstream Vera licence). It covers Latin with Vietnamese,
//!   Greek, Cyrillic, Armenian, Georgian, Hebrew and Arabic, so most names need nothing installed:
//!   a PDF never depends on the machine for them, in production or in a bare container.
//! - **CJK** (and a few other scripts) come from the machine, because a CJK font is ~20 MB per
//!   weight: Noto Sans CJK from Debian `fonts-noto-cjk` (`scripts/setup` installs it), found by
//!   file name under `/usr/share/fonts` or `/usr/local/share/fonts` and read once, on the first
//!   character that needs it. Also used when present: `fonts-droid-fallback` and the per-script
//!   Noto faces of `fonts-noto-core` (Devanagari, Bengali, Thai, Ethiopic, …).
//! - A character no font covers still makes a PDF: it prints as an empty box but keeps its place
//!   in the text layer (search, copy), and the log says once which Debian package to install
//!   (without the character: logs carry no patient data).
use krilla::color::rgb;
use krilla::configure::{ConfigurationBuilder, PdfVersion};
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font as PdfFont, GlyphId, KrillaGlyph};
use krilla::{Document as PdfDocument, SerializeSettings};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Once, OnceLock};

const PAGE_W: f32 = 612.0;
const PAGE_H: f32 = 792.0;
const MARGIN: f32 = 56.0;
/// The lowest baseline of body text (the footer sits below it).
const BOTTOM: f32 = PAGE_H - MARGIN - 20.0;
/// Inner padding of the notice box.
const PAD: f32 = 8.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Regular,
    Bold,
}

// ---- Fonts ------------------------------------------------------------------------------------

/// One font face, read once per process: the shaper's view and krilla's view of the same bytes.
struct Face {
    shaper: rustybuzz::Face<'static>,
    pdf: PdfFont,
    upem: f32,
}

impl Face {
    fn new(data: &'static [u8], index: u32) -> Option<Face> {
        let shaper = rustybuzz::Face::from_slice(data, index)?;
        let pdf = PdfFont::new(data.into(), index)?;
        let upem = shaper.units_per_em() as f32;
        Some(Face { shaper, pdf, upem })
    }

    fn covers(&self, c: char) -> bool {
        self.shaper.glyph_index(c).is_some()
    }
}

/// A face found on the machine, loaded on first use.
struct Fallback {
    path: PathBuf,
    /// In a collection (`.ttc`), the family to take; the first face if none matches.
    family: &'static str,
    style: Style,
    face: OnceLock<Option<Face>>,
}

impl Fallback {
    fn face(&self) -> Option<&Face> {
        self.face
            .get_or_init(|| {
                let face = std::fs::read(&self.path).ok().and_then(|bytes| {
                    // Read once and kept for the life of the process (the faces borrow it).
                    let data: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                    Face::new(data, collection_index(data, self.family))
                });
                if face.is_none() {
                    tracing::warn!(path = %self.path.display(), "pdf: a font file could not be read; skipped");
                }
                face
            })
            .as_ref()
    }
}

/// The face of a collection whose family name is `family` (0 if none is, or not a collection).
fn collection_index(data: &[u8], family: &str) -> u32 {
    let n = rustybuzz::ttf_parser::fonts_in_collection(data).unwrap_or(1);
    (0..n)
        .find(|&i| {
            rustybuzz::ttf_parser::Face::parse(data, i).is_ok_and(|f| {
                f.names()
                    .into_iter()
                    .any(|name| name.name_id == rustybuzz::ttf_parser::name_id::FAMILY && name.to_string().is_some_and(|s| s == family))
            })
        })
        .unwrap_or(0)
}

/// Font files looked for on the machine, in fallback order: file name, family (collections),
/// style. Debian packages: `fonts-noto-cjk`, `fonts-droid-fallback`, `fonts-noto-core`.
const FALLBACK_FILES: &[(&str, &str, Style)] = &[
    ("NotoSansCJK-Regular.ttc", "Noto Sans CJK SC", Style::Regular),
    ("NotoSansCJK-Bold.ttc", "Noto Sans CJK SC", Style::Bold),
    ("NotoSansCJKsc-Regular.otf", "", Style::Regular),
    ("NotoSansCJKsc-Bold.otf", "", Style::Bold),
    ("DroidSansFallbackFull.ttf", "", Style::Regular),
    ("NotoSansDevanagari-Regular.ttf", "", Style::Regular),
    ("NotoSansBengali-Regular.ttf", "", Style::Regular),
    ("NotoSansGurmukhi-Regular.ttf", "", Style::Regular),
    ("NotoSansGujarati-Regular.ttf", "", Style::Regular),
    ("NotoSansTamil-Regular.ttf", "", Style::Regular),
    ("NotoSansTelugu-Regular.ttf", "", Style::Regular),
    ("NotoSansThai-Regular.ttf", "", Style::Regular),
    ("NotoSansLao-Regular.ttf", "", Style::Regular),
    ("NotoSansKhmer-Regular.ttf", "", Style::Regular),
    ("NotoSansMyanmar-Regular.ttf", "", Style::Regular),
    ("NotoSansEthiopic-Regular.ttf", "", Style::Regular),
    ("NotoSansSinhala-Regular.ttf", "", Style::Regular),
];

/// Where the machine's fonts are (Debian and most Linux distributions).
const FONT_DIRS: &[&str] = &["/usr/share/fonts", "/usr/local/share/fonts"];

struct Fonts {
    regular: Face,
    bold: Face,
    fallbacks: Vec<Fallback>,
}

fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| {
        // The embedded faces are part of the binary: failing to parse them is a build defect.
        let regular = Face::new(dejavu::sans::regular(), 0).expect("embedded DejaVu Sans parses");
        let bold = Face::new(dejavu::sans::bold(), 0).expect("embedded DejaVu Sans Bold parses");
        let mut found: Vec<(usize, PathBuf)> = Vec::new();
        for dir in FONT_DIRS {
            find_files(Path::new(dir), 5, &mut |path| {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                if let Some(rank) = FALLBACK_FILES.iter().position(|(file, _, _)| *file == name)
                    && !found.iter().any(|(r, _)| *r == rank)
                {
                    found.push((rank, path.to_path_buf()));
                }
            });
        }
        found.sort();
        let fallbacks = found
            .into_iter()
            .map(|(rank, path)| {
                let (_, family, style) = FALLBACK_FILES[rank];
                Fallback { path, family, style, face: OnceLock::new() }
            })
            .collect();
        Fonts { regular, bold, fallbacks }
    })
}

fn find_files(dir: &Path, depth: u32, each: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() && depth > 0 => find_files(&path, depth - 1, each),
            Ok(_) => each(&path),
            Err(_) => {}
        }
    }
}

impl Fonts {
    fn primary(&self, style: Style) -> &Face {
        if style == Style::Bold { &self.bold } else { &self.regular }
    }

    /// The face to draw `c` with: the style's embedded face, else the other embedded face, else
    /// the machine's fallbacks (same style first), else the style's face (an empty box).
    fn face_for(&self, c: char, style: Style) -> &Face {
        let primary = self.primary(style);
        if primary.covers(c) {
            return primary;
        }
        let other = self.primary(if style == Style::Bold { Style::Regular } else { Style::Bold });
        if other.covers(c) {
            return other;
        }
        let same = self.fallbacks.iter().filter(|f| f.style == style);
        let rest = self.fallbacks.iter().filter(|f| f.style != style);
        if let Some(face) = same.chain(rest).filter_map(Fallback::face).find(|f| f.covers(c)) {
            return face;
        }
        static WARNED: Once = Once::new();
        WARNED.call_once(|| {
            tracing::warn!(
                "pdf: a document has characters that no available font covers; they print as empty boxes \
                 (install Debian fonts-noto-cjk for Chinese, Japanese and Korean, fonts-noto-core for other scripts)"
            )
        });
        primary
    }
}

/// Whether every character of `text` has a font here (else it would print as an empty box).
/// Reads every fallback font file found on the machine, once.
pub fn printable(text: &str) -> bool {
    let fonts = fonts();
    text.chars()
        .filter(|c| !c.is_control())
        .all(|c| fonts.regular.covers(c) || fonts.bold.covers(c) || fonts.fallbacks.iter().filter_map(Fallback::face).any(|f| f.covers(c)))
}

// ---- Shaping ----------------------------------------------------------------------------------

/// A run of glyphs in one face and one direction, ready to draw.
struct Run {
    face: &'static Face,
    glyphs: Vec<KrillaGlyph>,
    /// Advance width in em.
    width: f32,
}

/// A line of text shaped into runs in visual order (left to right on the page).
struct Shaped {
    text: String,
    runs: Vec<Run>,
}

impl Shaped {
    fn width(&self, size: f32) -> f32 {
        self.runs.iter().map(|r| r.width).sum::<f32>() * size
    }
}

fn is_neutral(c: char) -> bool {
    c.is_whitespace() || c.is_ascii_punctuation()
}

/// Shapes one line: bidi runs in visual order, each split where the face has to change.
fn shape(text: &str, style: Style) -> Shaped {
    let fonts = fonts();
    let mut runs = Vec::new();
    let bidi = unicode_bidi::ParagraphBidiInfo::new(text, Some(unicode_bidi::Level::ltr()));
    let (levels, level_runs) =
        if bidi.has_rtl() { bidi.visual_runs(0..text.len()) } else { (Vec::new(), std::iter::once(0..text.len()).collect()) };
    for range in level_runs {
        let rtl = levels.get(range.start).is_some_and(|l| l.is_rtl());
        // Split by face in logical order; spaces and punctuation stay with the face before them.
        let mut pieces: Vec<(Range<usize>, &'static Face)> = Vec::new();
        for (i, c) in text[range.clone()].char_indices() {
            let at = range.start + i;
            let end = at + c.len_utf8();
            let want = fonts.face_for(c, style);
            if let Some((r, face)) = pieces.last_mut()
                && (std::ptr::eq(*face, want) || (is_neutral(c) && face.covers(c)))
            {
                r.end = end;
                continue;
            }
            pieces.push((at..end, want));
        }
        if rtl {
            pieces.reverse();
        }
        for (r, face) in pieces {
            runs.push(shape_run(text, r, face, rtl));
        }
    }
    Shaped { text: text.to_string(), runs }
}

fn shape_run(text: &str, range: Range<usize>, face: &'static Face, rtl: bool) -> Run {
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(&text[range.clone()]);
    buffer.guess_segment_properties();
    buffer.set_direction(if rtl { rustybuzz::Direction::RightToLeft } else { rustybuzz::Direction::LeftToRight });
    let out = rustybuzz::shape(&face.shaper, &[], buffer);
    // A glyph's text is its cluster: from its start to the next cluster's start.
    let mut starts: Vec<usize> = out.glyph_infos().iter().map(|g| g.cluster as usize).collect();
    starts.sort_unstable();
    starts.dedup();
    let len = range.end - range.start;
    let mut width = 0.0;
    let glyphs = out
        .glyph_infos()
        .iter()
        .zip(out.glyph_positions())
        .map(|(info, pos)| {
            let start = info.cluster as usize;
            let end = starts.iter().find(|&&s| s > start).copied().unwrap_or(len);
            width += pos.x_advance as f32 / face.upem;
            KrillaGlyph::new(
                GlyphId::new(info.glyph_id),
                pos.x_advance as f32 / face.upem,
                pos.x_offset as f32 / face.upem,
                pos.y_offset as f32 / face.upem,
                pos.y_advance as f32 / face.upem,
                range.start + start..range.start + end,
                None,
            )
        })
        .collect();
    Run { face, glyphs, width }
}

fn width(text: &str, style: Style, size: f32) -> f32 {
    shape(text, style).width(size)
}

/// Splits text into lines no wider than `max` points, at spaces where possible; a word longer
/// than a line (or a run of CJK text, which has no spaces) is cut between characters.
fn wrap(text: &str, style: Style, size: f32, max: f32) -> Vec<String> {
    let space = width(" ", style, size);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_w = 0.0;
    for word in text.split(' ') {
        let w = width(word, style, size);
        let candidate = if line.is_empty() { w } else { line_w + space + w };
        if candidate <= max {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            line_w = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        line_w = 0.0;
        if w <= max {
            line.push_str(word);
            line_w = w;
            continue;
        }
        for c in word.chars() {
            let cw = width(c.encode_utf8(&mut [0; 4]), style, size);
            if line_w + cw > max && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
            }
            line.push(c);
            line_w += cw;
        }
    }
    lines.push(line);
    lines
}

// ---- The document -----------------------------------------------------------------------------

struct Line {
    size: f32,
    x: f32,
    /// Baseline, from the top of the page.
    y: f32,
    shaped: Shaped,
}

#[derive(Default)]
struct Page {
    lines: Vec<Line>,
    /// Notice boxes: top and bottom, from the top of the page.
    boxes: Vec<(f32, f32)>,
}

/// A document being written top to bottom.
pub struct Document {
    pages: Vec<Page>,
    /// The last baseline, from the top of the page.
    y: f32,
    /// Extra space kept free on the right (inside a notice box).
    inset: f32,
    metadata_title: Option<String>,
}

impl Default for Document {
    fn default() -> Self {
        Self::new()
    }
}

/// The PDF could not be written (krilla refused it).
#[derive(Debug, thiserror::Error)]
#[error("the PDF could not be written: {0}")]
pub struct PdfError(String);

impl Document {
    pub fn new() -> Self {
        Self { pages: vec![Page::default()], y: MARGIN, inset: 0.0, metadata_title: None }
    }

    fn write(&mut self, style: Style, size: f32, indent: f32, text: &str) {
        let leading = size * 1.35;
        // Tabs and other control characters have no glyph: a space instead.
        let text = text.replace(|c: char| c.is_control(), " ");
        for l in wrap(&text, style, size, PAGE_W - 2.0 * MARGIN - indent - self.inset) {
            if self.y + leading > BOTTOM {
                self.pages.push(Page::default());
                self.y = MARGIN;
            }
            self.y += leading;
            let (y, shaped) = (self.y, shape(&l, style));
            if let Some(page) = self.pages.last_mut() {
                page.lines.push(Line { size, x: MARGIN + indent, y, shaped });
            }
        }
    }

    fn gap(&mut self, points: f32) {
        self.y += points;
    }

    /// The title shown by PDF readers (the document information and XMP metadata); nothing is
    /// drawn. Keep patient names out of it: the file's metadata travels further than its pages.
    pub fn metadata_title(&mut self, text: &str) {
        self.metadata_title = Some(text.to_string());
    }

    pub fn title(&mut self, text: &str) {
        self.write(Style::Bold, 16.0, 0.0, text);
        self.gap(2.0);
    }

    /// A section heading, kept with at least two lines of what follows it.
    pub fn heading(&mut self, text: &str) {
        self.gap(8.0);
        if self.y + 12.0 * 1.35 + 2.0 * 10.0 * 1.35 > BOTTOM {
            self.pages.push(Page::default());
            self.y = MARGIN;
        }
        self.write(Style::Bold, 12.0, 0.0, text);
    }

    pub fn text(&mut self, text: &str) {
        for para in text.lines() {
            self.write(Style::Regular, 10.0, 0.0, para);
        }
    }

    pub fn small(&mut self, text: &str) {
        self.write(Style::Regular, 8.0, 0.0, text);
    }

    /// A label in bold on its own line, then its value indented.
    pub fn field(&mut self, label: &str, value: &str) {
        self.write(Style::Bold, 10.0, 0.0, label);
        let value = if value.trim().is_empty() { "—" } else { value };
        for para in value.lines() {
            self.write(Style::Regular, 10.0, 12.0, para);
        }
    }

    /// A notice in a shaded, ruled box across the page: its heading in bold, then its text.
    pub fn notice(&mut self, heading: &str, text: &str) {
        self.gap(8.0);
        if self.y + 60.0 > BOTTOM {
            self.pages.push(Page::default());
            self.y = MARGIN;
        }
        let (first_page, top) = (self.pages.len() - 1, self.y);
        self.gap(PAD / 2.0);
        self.inset = PAD;
        self.write(Style::Bold, 10.0, PAD, heading);
        for para in text.lines() {
            self.write(Style::Regular, 10.0, PAD, para);
        }
        self.inset = 0.0;
        self.gap(PAD);
        let last_page = self.pages.len() - 1;
        for (k, page) in self.pages.iter_mut().enumerate().skip(first_page) {
            let t = if k == first_page { top } else { MARGIN };
            let b = if k == last_page { self.y } else { BOTTOM + 4.0 };
            page.boxes.push((t, b));
        }
        self.gap(4.0);
    }

    /// The finished file: every page with its page-number footer, fonts embedded as subsets.
    /// PDF 1.4 for the widest reach; 1.7 if a 1.4 limit is hit.
    pub fn finish(self) -> Result<Vec<u8>, PdfError> {
        self.render(PdfVersion::Pdf14).or_else(|_| self.render(PdfVersion::Pdf17))
    }

    fn render(&self, version: PdfVersion) -> Result<Vec<u8>, PdfError> {
        let configuration = ConfigurationBuilder::new().with_version(version).finish().map_err(|e| PdfError(format!("{e:?}")))?;
        let settings = SerializeSettings { configuration, ..SerializeSettings::default() };
        let mut doc = PdfDocument::new_with(settings);
        let mut metadata = Metadata::new().language("en-US".into()).creator("OpenIOP".into());
        if let Some(t) = &self.metadata_title {
            metadata = metadata.title(t.clone());
        }
        doc.set_metadata(metadata);
        let n_pages = self.pages.len();
        for (k, page) in self.pages.iter().enumerate() {
            let size = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PdfError("page size".into()))?;
            let mut p = doc.start_page_with(size);
            let mut surface = p.surface();
            for &(top, bottom) in &page.boxes {
                draw_box(&mut surface, top, bottom);
            }
            let footer = Line {
                size: 8.0,
                x: MARGIN,
                y: PAGE_H - MARGIN + 16.0,
                shaped: shape(&format!("Page {} of {n_pages}", k + 1), Style::Regular),
            };
            for line in page.lines.iter().chain(std::iter::once(&footer)) {
                let mut x = line.x;
                for run in &line.shaped.runs {
                    surface.draw_glyphs(Point::from_xy(x, line.y), &run.glyphs, run.face.pdf.clone(), &line.shaped.text, line.size, false);
                    x += run.width * line.size;
                }
            }
            surface.finish();
            p.finish();
        }
        doc.finish().map_err(|e| PdfError(format!("{e:?}")))
    }
}

fn draw_box(surface: &mut Surface<'_>, top: f32, bottom: f32) {
    let Some(rect) = Rect::from_ltrb(MARGIN, top, PAGE_W - MARGIN, bottom) else { return };
    let mut pb = PathBuilder::new();
    pb.push_rect(rect);
    let Some(path) = pb.finish() else { return };
    surface.set_fill(Some(Fill { paint: rgb::Color::new(242, 242, 242).into(), opacity: NormalizedF32::ONE, rule: Default::default() }));
    surface.set_stroke(Some(Stroke { paint: rgb::Color::new(0, 0, 0).into(), width: 1.0, ..Default::default() }));
    surface.draw_path(&path);
    surface.set_fill(None);
    surface.set_stroke(None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_pages_with_breaks_and_footers() {
        let mut d = Document::new();
        d.metadata_title("Discharge summary 0000042");
        d.title("Discharge summary: Ana (Annie) O\\Brien");
        d.notice("Notice", "A boxed notice that is long enough to wrap onto a second line inside its box, which keeps its padding.");
        for i in 0..120 {
            d.text(&format!(
                "Line {i}: café – “quoted” and a long sentence that wraps across the width of the page because it keeps going"
            ));
        }
        let n = d.pages.len();
        assert!(n >= 3, "automatic page breaks: {n} pages");
        assert_eq!(d.pages[0].boxes.len(), 1, "the notice box on the first page");
        let pdf = d.finish().expect("a PDF");
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(String::from_utf8_lossy(&pdf).contains("0000042"), "the metadata title is in the file");
    }

    #[test]
    fn every_line_fits_the_page() {
        let max = PAGE_W - 2.0 * MARGIN;
        for text in ["x".repeat(400), "李小龙".repeat(80), "Nguyễn Thị Hương ".repeat(30), "محمد عبد الله ".repeat(30)]
        {
            let lines = wrap(&text, Style::Regular, 10.0, max);
            assert!(lines.len() > 1, "wrapped");
            assert!(lines.iter().all(|l| width(l, Style::Regular, 10.0) <= max + 0.01), "{lines:?}");
            assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""), "nothing lost");
        }
    }

    #[test]
    fn arabic_is_shaped_right_to_left_and_latin_stays_in_order() {
        let s = shape("Patient: محمد (MRN 7)", Style::Regular);
        assert!(s.runs.len() >= 2, "a left-to-right and a right-to-left run");
        // Visual order: the Latin label first, the Arabic run after it.
        assert_eq!(s.runs[0].glyphs[0].text_range.start, 0);
        let arabic_start = "Patient: ".len();
        assert!(s.runs.iter().any(|r| r.glyphs.first().is_some_and(|g| g.text_range.start > arabic_start)), "RTL run drawn from its end");
    }

    #[test]
    fn a_character_no_font_has_still_makes_a_pdf() {
        let mut d = Document::new();
        d.title("Linear B: 𐀀𐀁");
        assert!(d.finish().expect("a PDF").starts_with(b"%PDF-"));
    }
}
