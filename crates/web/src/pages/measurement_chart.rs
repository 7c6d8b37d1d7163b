//! Server-rendered SVG charts, built as typed values and rendered by auto-escaping askama
//! templates (no string concatenation of user text): a patient's scores over time with the
//! instrument's severity bands shaded and level-of-care changes marked, and program outcome bars.
use askama::Template;
use chrono::NaiveDate;
use openiop_domain::measurement::outcomes::{InstrumentOutcome, ProgramInstrumentOutcome};
use openiop_domain::patients::{Episode, LevelLine};

const BAND_FILLS: [&str; 5] = ["#e3f2e6", "#f6f1cf", "#fbe3c4", "#f7cfbd", "#f2b8b8"];

pub struct ChartBand {
    pub y: f64,
    pub height: f64,
    pub fill: &'static str,
    pub label: String,
    pub label_y: f64,
}

pub struct ChartPoint {
    pub x: f64,
    pub y: f64,
    pub title: String,
    pub follow_up: bool,
}

pub struct ChartMarker {
    pub x: f64,
    pub label: String,
}

pub struct Tick {
    pub at: f64,
    pub label: String,
}

/// A patient's scores on one instrument.
#[derive(Template)]
#[template(path = "measurement_chart.svg", escape = "html")]
pub struct ScoreChart {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
    pub bands: Vec<ChartBand>,
    pub points: Vec<ChartPoint>,
    /// `x,y x,y …` of the in-treatment line: numbers only.
    pub line: String,
    pub markers: Vec<ChartMarker>,
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
}

impl ScoreChart {
    pub fn build(o: &InstrumentOutcome, episode: Option<&Episode>) -> Self {
        let (width, height, left, right, top, bottom) = (720.0, 280.0, 48.0, 700.0, 16.0, 240.0);
        let max = o.max_total.max(1.0);
        let y_of = |v: f64| bottom - (v.clamp(0.0, max) / max) * (bottom - top);
        let dates: Vec<NaiveDate> = o.points.iter().chain(&o.follow_ups).map(|p| p.date).chain(episode.map(|e| e.admitted_on)).collect();
        let first = dates.iter().min().copied().unwrap_or_default();
        let last = dates.iter().max().copied().unwrap_or(first);
        let span = ((last - first).num_days().max(7)) as f64;
        let x_of = |d: NaiveDate| left + ((d - first).num_days() as f64 / span) * (right - left - 12.0) + 6.0;

        let bands = o
            .bands
            .iter()
            .map(|b| {
                // A band covers min..max+1 on the axis so whole-number bands meet without gaps.
                let (y_top, y_bottom) = (y_of((b.max + 1.0).min(max)), y_of(b.min));
                ChartBand {
                    y: y_top,
                    height: (y_bottom - y_top).max(0.0),
                    fill: BAND_FILLS[usize::from(b.level).min(BAND_FILLS.len() - 1)],
                    label: b.label.clone(),
                    label_y: y_top + 12.0,
                }
            })
            .collect();
        let mut points: Vec<ChartPoint> = Vec::new();
        for p in &o.points {
            points.push(ChartPoint { x: x_of(p.date), y: y_of(p.total), title: format!("{}: {}", p.date, p.total), follow_up: false });
        }
        for p in &o.follow_ups {
            let days = p.context.follow_up_days().unwrap_or(0);
            points.push(ChartPoint {
                x: x_of(p.date),
                y: y_of(p.total),
                title: format!("{}: {} (follow-up, {days} days after discharge)", p.date, p.total),
                follow_up: true,
            });
        }
        let line = o.points.iter().map(|p| format!("{:.1},{:.1}", x_of(p.date), y_of(p.total))).collect::<Vec<_>>().join(" ");
        let mut markers = Vec::new();
        if let Some(e) = episode {
            for s in e.levels.iter().filter(|s| s.line == LevelLine::Clinical && s.from > e.admitted_on) {
                markers.push(ChartMarker { x: x_of(s.from), label: format!("ASAM {}", s.level.code) });
            }
            if let Some(d) = &e.discharge {
                markers.push(ChartMarker { x: x_of(d.date), label: "Discharge".into() });
            }
        }
        let step = if max > 40.0 {
            20.0
        } else if max > 12.0 {
            5.0
        } else {
            1.0
        };
        let mut y_ticks = Vec::new();
        let mut v = 0.0;
        while v <= max + 0.001 {
            y_ticks.push(Tick { at: y_of(v), label: format!("{v}") });
            v += step;
        }
        let x_ticks = vec![Tick { at: x_of(first), label: first.to_string() }, Tick { at: x_of(last), label: last.to_string() }];
        let desc = format!(
            "{} totals from {} to {}: {} in treatment, {} at follow-up; shaded bands show severity.",
            o.name,
            first,
            last,
            o.points.len(),
            o.follow_ups.len()
        );
        Self {
            id: format!("chart-{}", o.instrument),
            title: format!("{} over time", o.name),
            desc,
            width,
            height,
            left,
            right,
            top,
            bottom,
            bands,
            points,
            line,
            markers,
            y_ticks,
            x_ticks,
        }
    }
}

pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub height: f64,
    pub fill: &'static str,
    pub label: String,
    pub value: String,
}

/// One instrument's program outcome: baseline, latest and follow-up means, each with its n.
#[derive(Template)]
#[template(path = "measurement_bars.svg", escape = "html")]
pub struct BarChart {
    pub id: String,
    pub title: String,
    pub width: f64,
    pub height: f64,
    pub bottom: f64,
    pub bars: Vec<Bar>,
}

impl BarChart {
    pub fn build(o: &ProgramInstrumentOutcome, name: &str, max_total: f64) -> Self {
        let (width, height, top, bottom) = (320.0, 200.0, 20.0, 160.0);
        let max = max_total.max(1.0);
        let figures = [("Baseline", o.baseline, "#6b7fa8"), ("Latest", o.latest, "#3f7f5f"), ("Follow-up", o.follow_up, "#8a6d3b")];
        let bars = figures
            .iter()
            .enumerate()
            .map(|(i, (label, f, fill))| {
                let mean = f.mean.unwrap_or(0.0);
                let h = (mean.clamp(0.0, max) / max) * (bottom - top);
                Bar {
                    x: 30.0 + i as f64 * 95.0,
                    y: bottom - h,
                    height: h,
                    fill,
                    label: format!("{label} (n={})", f.n),
                    value: f.mean.map(|m| format!("{m:.1}")).unwrap_or_else(|| "—".into()),
                }
            })
            .collect();
        Self { id: format!("bars-{}", o.instrument), title: format!("{name}: mean totals"), width, height, bottom, bars }
    }
}
