//! Weekly IOP schedule optimizer for the `iop-week/1` format.
//!
//! * [`model`]: serde types of instance and solution JSON.
//! * [`check::validate`]: an independent port of every hard rule (H1..H17) and the objective.
//! * [`solve`]: greedy construction + ruin-and-recreate search per site, both cores, deterministic.
//! * [`explain`]: plain-English reasons why a patient is still short of hours or of a 1:1 session.
//!
//! # Determinism
//! The search is split into *epochs*. In one epoch every (site, lane) unit runs a fixed number
//! of iterations driven only by its own PRNG stream (derived from the seed, the site index and
//! the lane index); at fixed epoch counts the lanes of a site exchange their best schedules in a
//! fixed order. Threads only execute units; the result is a function of
//! (instance, seed, number of epochs) and never of the thread count or of thread timing.
//! * With [`SolveOptions::iterations`] set, the number of epochs is fixed: the output is
//!   bit-identical across runs, machines and thread counts (all but the `wall_seconds` and
//!   `threads` stats).
//! * With only a time limit, the wall clock decides *how many* epochs run (checked between
//!   epochs): same seed and same limit on an equally loaded machine gives the same schedule in
//!   practice, and the number of epochs run is reported in the stats so any run can be
//!   reproduced exactly with `iterations = epochs × ITERS_PER_EPOCH`.

#![forbid(unsafe_code)]

pub mod check;
pub mod explain;
pub mod model;
mod replan;
mod rng;
mod search;
mod site;
mod state;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

pub use check::{Objective, Violation, validate};
pub use explain::Explanation;
pub use model::{Instance, Session, SessionMode, SessionType, Solution};

use crate::rng::Rng;
use crate::search::{Knobs, Lane};
use crate::site::{SiteC, compile};
use crate::state::{DUR, Stability, State};

/// Search lanes per site (independent of the thread count, so results do not depend on it).
pub const LANES: usize = 2;
/// Ruin-and-recreate iterations per lane per epoch.
pub const ITERS_PER_EPOCH: u64 = 25;
/// Lanes of a site exchange their best schedule every this many epochs.
const SYNC_EVERY: u64 = 8;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unsupported instance: {0}")]
    Unsupported(String),
    #[error("invalid instance: {0}")]
    Instance(String),
}

/// How to solve.
#[derive(Debug, Clone)]
pub struct SolveOptions {
    /// Wall-clock budget for the whole call (ignored when `iterations` is set).
    pub time_limit: Duration,
    pub seed: u64,
    /// Worker threads (0 = all available cores).
    pub threads: usize,
    /// Fixed search budget: iterations per lane and site (rounded up to whole epochs).
    /// Makes the output bit-identical regardless of machine speed and threads.
    pub iterations: Option<u64>,
    /// Re-planning: the schedule currently in force. Its sessions that are still valid are
    /// the starting point, and every one of them that is changed or dropped costs
    /// `stability_weight` objective points.
    pub current: Option<Solution>,
    /// Penalty per session of `current` that is changed or removed (default 50: keeping a
    /// session weighs more than fuller groups, less than a missed 1:1 need or a half hour).
    pub stability_weight: i64,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions { time_limit: Duration::from_secs(10), seed: 1, threads: 0, iterations: None, current: None, stability_weight: 50 }
    }
}

/// Search statistics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SolveStats {
    pub objective: Objective,
    pub wall_seconds: f64,
    pub epochs: u64,
    pub iterations_per_lane: u64,
    pub lanes_per_site: usize,
    pub threads: usize,
    pub seed: u64,
    pub sites: usize,
    /// Sessions dropped by the final safety check (should always be 0).
    pub repaired_sessions: usize,
    /// The objective as tracked incrementally by the search (sum over sites); equals
    /// `objective.total` unless the final check had to drop sessions or some patients belong
    /// to a site that is not in `sites` (they cannot be scheduled, but still count).
    pub search_objective: i64,
    /// Broken instance invariants that were worked around (FORMAT.md §3).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instance_warnings: Vec<String>,
    /// Re-planning: sessions of the current schedule kept unchanged / total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_sessions: Option<(usize, usize)>,
}

/// Result of [`solve`].
#[derive(Debug, Clone)]
pub struct SolveResult {
    pub solution: Solution,
    pub stats: SolveStats,
    /// One entry per patient still short of hours or of a needed 1:1 session.
    pub explanations: Vec<Explanation>,
}

/// Solve one instance.
pub fn solve(instance: &Instance, opts: &SolveOptions) -> Result<SolveResult, Error> {
    let t0 = Instant::now();
    if let Some(p) = check::check_instance(instance).into_iter().find(|p| p.starts_with("duplicate id")) {
        return Err(Error::Instance(p));
    }
    let sites = compile(instance)?;
    let stabs: Vec<Stability> = match &opts.current {
        Some(cur) => replan::stabilities(instance, &sites, cur, opts.stability_weight),
        None => vec![Stability::default(); sites.len()],
    };
    let threads = if opts.threads == 0 { std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) } else { opts.threads };

    // units: (site, lane)
    let mut units: Vec<Mutex<(usize, Lane)>> = Vec::new();
    for (si, site) in sites.iter().enumerate() {
        let start = match &opts.current {
            Some(cur) => replan::initial_state(instance, site, &stabs[si], cur),
            None => State::new(site),
        };
        for lane in 0..LANES {
            let rng = Rng::derive(opts.seed, &[si as u64, lane as u64]);
            let knobs = Knobs { noise: if lane == 0 { 150 } else { 400 } };
            units.push(Mutex::new((si, Lane::new(site, start.clone(), rng, knobs))));
        }
    }
    // big sites first so that the last unit of an epoch is a short one
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by_key(|&u| {
        let si = u / LANES;
        (std::cmp::Reverse(sites[si].pats.len()), u)
    });

    let max_epochs = opts.iterations.map(|n| n.div_ceil(ITERS_PER_EPOCH));
    let deadline = opts.time_limit.as_secs_f64();
    // keep a margin for the final check and JSON output
    let margin = 0.02 + 0.000_02 * instance.patients.len() as f64;
    let mut epochs: u64 = 0;
    let mut last_epoch = 0.0f64;
    loop {
        // epoch 0 is construction only
        let iters = if epochs == 0 { 0 } else { ITERS_PER_EPOCH };
        if epochs > 0 {
            if let Some(me) = max_epochs {
                if epochs > me {
                    break;
                }
            } else {
                let el = t0.elapsed().as_secs_f64();
                if el + last_epoch * 1.05 + margin > deadline {
                    break;
                }
            }
        }
        let te = Instant::now();
        run_parallel(&units, &order, &sites, &stabs, iters, threads);
        last_epoch = te.elapsed().as_secs_f64();
        if epochs > 0 && epochs.is_multiple_of(SYNC_EVERY) {
            sync_lanes(&units, &sites);
        }
        epochs += 1;
    }

    // best lane per site
    let mut best: Vec<Option<(i64, State)>> = vec![None; sites.len()];
    for u in units {
        let (si, lane) = u.into_inner().map_err(|_| Error::Unsupported("worker panicked".into()))?;
        if best[si].as_ref().is_none_or(|(c, _)| lane.best_cost < *c) {
            best[si] = Some((lane.best_cost, lane.best));
        }
    }
    let mut sessions = Vec::new();
    let mut search_objective = 0;
    for (si, b) in best.into_iter().enumerate() {
        if let Some((_, st)) = b {
            search_objective += st.objective();
            sessions.extend(to_sessions(instance, &sites[si], &st, opts.current.as_ref()));
        }
    }
    let mut res = finish(instance, sessions, opts, t0, epochs.saturating_sub(1), threads)?;
    res.stats.search_objective = search_objective;
    if let serde_json::Value::Object(m) = &mut res.solution.stats {
        m.insert("search_objective".into(), search_objective.into());
    }
    Ok(res)
}

fn run_parallel(units: &[Mutex<(usize, Lane)>], order: &[usize], sites: &[SiteC], stabs: &[Stability], iters: u64, threads: usize) {
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= order.len() {
                break;
            }
            if let Ok(mut g) = units[order[k]].lock() {
                let (si, lane) = &mut *g;
                lane.run(&sites[*si], &stabs[*si], iters);
            }
        }
    };
    let n = threads.clamp(1, order.len().max(1));
    if n == 1 {
        work();
        return;
    }
    std::thread::scope(|s| {
        for _ in 0..n {
            s.spawn(work);
        }
    });
}

fn sync_lanes(units: &[Mutex<(usize, Lane)>], sites: &[SiteC]) {
    for si in 0..sites.len() {
        let lanes: Vec<usize> = (si * LANES..(si + 1) * LANES).collect();
        let mut costs = Vec::new();
        for &u in &lanes {
            if let Ok(g) = units[u].lock() {
                costs.push((g.1.best_cost, u));
            }
        }
        costs.sort();
        let (Some(&(bc, bu)), Some(&(wc, wu))) = (costs.first(), costs.last()) else {
            continue;
        };
        if wc > bc && bu != wu {
            let best_state = match units[bu].lock() {
                Ok(g) => g.1.best.clone(),
                Err(_) => continue,
            };
            if let Ok(mut g) = units[wu].lock() {
                g.1.adopt(&best_state, bc);
            }
        }
    }
}

/// Site-local state -> JSON sessions (ids are assigned later).
fn to_sessions(inst: &Instance, site: &SiteC, st: &State, current: Option<&Solution>) -> Vec<Session> {
    let types = SessionType::ALL;
    let mut out = Vec::new();
    for g in st.groups.iter().filter(|g| g.alive) {
        let mut pats: Vec<usize> = g.pats.iter().map(|&p| site.pats[p as usize].gi).collect();
        pats.sort_unstable();
        out.push(Session {
            id: String::new(),
            kind: types[g.typ as usize],
            clinician: inst.clinicians[site.clins[g.clin as usize].gi].id.clone(),
            day: g.day as i64,
            start: g.start as i64,
            mode: if g.virt { SessionMode::Virtual } else { SessionMode::InPerson },
            room: if g.virt { None } else { Some(inst.rooms[site.grooms[g.room as usize].0].id.clone()) },
            patients: pats.into_iter().map(|p| inst.patients[p].id.clone()).collect(),
        });
    }
    // 1:1 sessions: offices by interval colouring (offices are interchangeable), keeping the
    // office of the current schedule when it is free
    let prev_office: HashMap<(String, i64, i64), String> = current
        .map(|c| {
            c.sessions
                .iter()
                .filter(|s| !s.kind.is_group() && s.mode == SessionMode::InPerson)
                .filter_map(|s| s.room.clone().map(|r| ((s.clinician.clone(), s.day, s.start), r)))
                .collect()
        })
        .unwrap_or_default();
    let mut ones: Vec<&state::One> = st.ones.iter().filter(|o| o.alive).collect();
    ones.sort_by_key(|o| (o.day, o.start, o.clin));
    let clin_of = |o: &state::One| inst.clinicians[site.clins[o.clin as usize].gi].id.clone();
    // First the sessions that keep their current office (a valid assignment among themselves),
    // then the others first-fit; if that leaves one without an office, plain first-fit for all.
    let colour = |keep_first: bool| -> Option<Vec<Option<usize>>> {
        let mut busy: Vec<[u32; model::DAYS]> = vec![[0; model::DAYS]; site.offices.len()];
        let mut got: Vec<Option<usize>> = vec![None; ones.len()];
        for pass in [true, false] {
            for (i, o) in ones.iter().enumerate() {
                if o.virt || got[i].is_some() {
                    continue;
                }
                let m = site::mask(o.start as u32, DUR[o.typ as usize]);
                let d = o.day as usize;
                let want = prev_office.get(&(clin_of(o), o.day as i64, o.start as i64));
                let prev = site.offices.iter().position(|&r| Some(&inst.rooms[r].id) == want).filter(|&k| busy[k][d] & m == 0);
                let idx = if pass && keep_first { prev } else { prev.or_else(|| (0..site.offices.len()).find(|&k| busy[k][d] & m == 0)) };
                if let Some(k) = idx {
                    busy[k][d] |= m;
                    got[i] = Some(k);
                } else if !pass || !keep_first {
                    return None;
                }
            }
            if !keep_first {
                break;
            }
        }
        Some(got)
    };
    // Either colouring can only fail if office use per slot exceeded the offices, which the
    // search never allows; the final check would drop such a session.
    let offices = colour(true).or_else(|| colour(false)).unwrap_or_else(|| vec![None; ones.len()]);
    for (i, o) in ones.iter().enumerate() {
        let clin = clin_of(o);
        let room = if o.virt { None } else { Some(offices[i].map(|k| inst.rooms[site.offices[k]].id.clone()).unwrap_or_default()) };
        out.push(Session {
            id: String::new(),
            kind: types[o.typ as usize],
            clinician: clin,
            day: o.day as i64,
            start: o.start as i64,
            mode: if o.virt { SessionMode::Virtual } else { SessionMode::InPerson },
            room,
            patients: vec![inst.patients[site.pats[o.pat as usize].gi].id.clone()],
        });
    }
    out
}

/// Final safety net: number the sessions, run the independent checker, drop anything it
/// objects to (never expected), explain what is still missing.
fn finish(
    inst: &Instance,
    mut sessions: Vec<Session>,
    opts: &SolveOptions,
    t0: Instant,
    epochs: u64,
    threads: usize,
) -> Result<SolveResult, Error> {
    let clin_idx: HashMap<&str, usize> = inst.clinicians.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    sessions.sort_by(|a, b| {
        let ca = clin_idx.get(a.clinician.as_str()).copied().unwrap_or(usize::MAX);
        let cb = clin_idx.get(b.clinician.as_str()).copied().unwrap_or(usize::MAX);
        (ca, a.day, a.start).cmp(&(cb, b.day, b.start))
    });
    for (i, s) in sessions.iter_mut().enumerate() {
        s.id = format!("X{:05}", i + 1);
    }
    let mut sol =
        Solution { instance: Some(inst.name.clone()), solver: Some("openiop-scheduler".into()), stats: serde_json::Value::Null, sessions };
    let mut repaired = 0;
    loop {
        let (viol, _) = validate(inst, &sol);
        if viol.is_empty() {
            break;
        }
        let drop: std::collections::HashSet<String> = viol.iter().flat_map(|v| v.sessions.iter().cloned()).collect();
        let before = sol.sessions.len();
        sol.sessions.retain(|s| !drop.contains(&s.id));
        repaired += before - sol.sessions.len();
        if before == sol.sessions.len() {
            // a violation that names no session cannot be repaired by dropping sessions
            sol.sessions.clear();
        }
    }
    let (_, objective) = validate(inst, &sol);
    let kept = opts.current.as_ref().map(|cur| replan::count_kept(cur, &sol));
    let stats = SolveStats {
        objective,
        wall_seconds: t0.elapsed().as_secs_f64(),
        epochs,
        iterations_per_lane: epochs * ITERS_PER_EPOCH,
        lanes_per_site: LANES,
        threads,
        seed: opts.seed,
        sites: inst.sites.len(),
        repaired_sessions: repaired,
        search_objective: objective.total,
        instance_warnings: check::check_instance(inst),
        kept_sessions: kept,
    };
    sol.stats = serde_json::to_value(&stats)?;
    let explanations = explain::explain(inst, &sol);
    Ok(SolveResult { solution: sol, stats, explanations })
}

/// Parse an instance, solve it, and return the solution JSON (with stats and explanations
/// under `stats`).
pub fn solve_json(instance_json: &str, opts: &SolveOptions) -> Result<String, Error> {
    let inst = parse_instance(instance_json)?;
    let res = solve(&inst, opts)?;
    let mut sol = res.solution;
    if let serde_json::Value::Object(m) = &mut sol.stats {
        m.insert("explanations".into(), serde_json::to_value(&res.explanations)?);
    }
    write_solution(&sol)
}

/// Parse an instance. Duplicate ids are an error (ids would be ambiguous); other broken
/// invariants of FORMAT.md §3 (a clinician not licensed in its site's state, a primary at
/// another site, an unknown site) are tolerated: the solver works around them (no in-person
/// sessions for such a clinician, no primary-therapist preference) and lists them in
/// `SolveStats::instance_warnings`.
pub fn parse_instance(json: &str) -> Result<Instance, Error> {
    let inst: Instance = serde_json::from_str(json)?;
    if inst.format != "iop-week/1" {
        return Err(Error::Unsupported(format!("format {:?}", inst.format)));
    }
    if let Some(p) = check::check_instance(&inst).into_iter().find(|p| p.starts_with("duplicate id")) {
        return Err(Error::Instance(p));
    }
    Ok(inst)
}

pub fn parse_solution(json: &str) -> Result<Solution, Error> {
    Ok(serde_json::from_str(json)?)
}

/// Solution JSON, one session per line.
pub fn write_solution(sol: &Solution) -> Result<String, Error> {
    let mut s = String::from("{\"instance\": ");
    s.push_str(&serde_json::to_string(&sol.instance)?);
    s.push_str(", \"solver\": ");
    s.push_str(&serde_json::to_string(&sol.solver)?);
    s.push_str(", \"stats\": ");
    s.push_str(&serde_json::to_string(&sol.stats)?);
    s.push_str(",\n \"sessions\": [\n");
    for (i, x) in sol.sessions.iter().enumerate() {
        s.push_str("  ");
        s.push_str(&serde_json::to_string(x)?);
        if i + 1 < sol.sessions.len() {
            s.push(',');
        }
        s.push('\n');
    }
    s.push_str("]}\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_check_drops_whatever_breaks_a_rule() {
        let inst = parse_instance(include_str!("../tests/data/micro.json")).unwrap();
        let mut sol = parse_solution(include_str!("../tests/data/micro-solution.json")).unwrap();
        // break it: X5 with a clinician not licensed for P3's home (H13) and a second
        // individual for P3 (H16); X2 at an overlapping time (H8, H9, H10, H15)
        sol.sessions[4].clinician = "S01-C03".into();
        sol.sessions[4].patients = vec!["S01-P3".into()];
        sol.sessions[1].day = 0;
        let opts = SolveOptions::default();
        let res = finish(&inst, sol.sessions, &opts, Instant::now(), 0, 1).unwrap();
        let (v, obj) = validate(&inst, &res.solution);
        assert!(v.is_empty(), "{v:?}");
        assert!(res.stats.repaired_sessions >= 2, "{:?}", res.stats);
        assert_eq!(obj, res.stats.objective);
        assert!(!res.solution.sessions.is_empty());
    }
}
