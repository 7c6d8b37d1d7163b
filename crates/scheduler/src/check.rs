//! Independent hard-rule checker and objective, a port of the kit's `validate.py`.
//!
//! Deliberately shares nothing with the search code: plain loops over the JSON-level types.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::model::{DAY_NAMES, DAYS, Instance, RoomKind, SLOTS, SessionMode, SessionType, Solution, credential_mask, hhmm};

/// Objective weights (FORMAT.md §6); shortfall is per half hour.
pub const W_SHORT_HALF_HOUR: i64 = 500;
pub const W_UNMET: i64 = 100;
pub const W_GROUP: i64 = 10;
pub const W_NONPRIMARY: i64 = 1;
pub const W_INPERSON_DAY: i64 = 2;

/// One breach of a hard rule.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Violation {
    /// `H1`..`H17`.
    pub code: &'static str,
    pub message: String,
    /// Ids of the sessions involved (removing them all removes the breach).
    pub sessions: Vec<String>,
}

/// The objective term by term.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Objective {
    pub shortfall_half_hours: i64,
    pub unmet_needs: i64,
    pub groups: i64,
    pub not_primary: i64,
    pub in_person_days: i64,
    pub total: i64,
}

impl Objective {
    fn finish(mut self) -> Self {
        self.total = W_SHORT_HALF_HOUR * self.shortfall_half_hours
            + W_UNMET * self.unmet_needs
            + W_GROUP * self.groups
            + W_NONPRIMARY * self.not_primary
            + W_INPERSON_DAY * self.in_person_days;
        self
    }
}

/// Problems with the instance itself (FORMAT.md §3 invariants).
pub fn check_instance(inst: &Instance) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids = HashSet::new();
    let all_ids = inst
        .sites
        .iter()
        .map(|s| &s.id)
        .chain(inst.rooms.iter().map(|r| &r.id))
        .chain(inst.clinicians.iter().map(|c| &c.id))
        .chain(inst.patients.iter().map(|p| &p.id));
    for id in all_ids {
        if !ids.insert(id.as_str()) {
            problems.push(format!("duplicate id {id}"));
        }
    }
    let site_state: HashMap<&str, &str> = inst.sites.iter().map(|s| (s.id.as_str(), s.state.as_str())).collect();
    for c in &inst.clinicians {
        match site_state.get(c.site.as_str()) {
            None => problems.push(format!("clinician {}: unknown site {}", c.id, c.site)),
            Some(st) if !c.licenses.iter().any(|l| l == st) => {
                problems.push(format!("clinician {} not licensed in its site's state", c.id))
            }
            _ => {}
        }
    }
    let clin_site: HashMap<&str, &str> = inst.clinicians.iter().map(|c| (c.id.as_str(), c.site.as_str())).collect();
    for p in &inst.patients {
        if clin_site.get(p.primary.as_str()) != Some(&p.site.as_str()) {
            problems.push(format!("patient {}: primary clinician not at the patient's site", p.id));
        }
    }
    for r in &inst.rooms {
        if !site_state.contains_key(r.site.as_str()) {
            problems.push(format!("room {}: unknown site {}", r.id, r.site));
        }
    }
    problems
}

fn available(windows: &[[i64; 3]], day: i64, start: i64, dur: i64) -> bool {
    (start..start + dur).all(|t| windows.iter().any(|w| w[0] == day && w[1] <= t && t < w[2]))
}

fn when(day: i64, start: i64, dur: i64) -> String {
    format!("{} {}-{}", DAY_NAMES[day as usize], hhmm(start), hhmm(start + dur))
}

struct Good<'a> {
    sid: &'a str,
    typ: SessionType,
    clin: usize,
    day: i64,
    start: i64,
    dur: i64,
    mode: SessionMode,
    room: Option<usize>,
    pats: Vec<usize>,
}

/// Every hard-rule violation of `sol` for `inst` (empty = valid) and the objective.
pub fn validate(inst: &Instance, sol: &Solution) -> (Vec<Violation>, Objective) {
    let mut viol: Vec<Violation> = Vec::new();
    let mut bad = |code: &'static str, message: String, sessions: Vec<String>| viol.push(Violation { code, message, sessions });
    let site_state: HashMap<&str, &str> = inst.sites.iter().map(|s| (s.id.as_str(), s.state.as_str())).collect();
    let pat: HashMap<&str, usize> = inst.patients.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
    let clin: HashMap<&str, usize> = inst.clinicians.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    let room: HashMap<&str, usize> = inst.rooms.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();

    let mut good: Vec<Good> = Vec::new();
    let mut seen = HashSet::new();
    for s in &sol.sessions {
        let sid = s.id.as_str();
        let one = vec![s.id.clone()];
        if !seen.insert(sid) {
            bad("H1", format!("session {sid}: duplicate session id"), one.clone());
        }
        let dur = s.kind.duration() as i64;
        if !(0..DAYS as i64).contains(&s.day) {
            bad("H1", format!("session {sid}: day {} not in 0..5", s.day), one);
            continue;
        }
        if s.start < 0 || s.start + dur > SLOTS as i64 {
            bad("H1", format!("session {sid}: start {} + {dur} slots does not fit in the day", s.start), one);
            continue;
        }
        let Some(&c) = clin.get(s.clinician.as_str()) else {
            bad("H1", format!("session {sid}: unknown clinician {}", s.clinician), one);
            continue;
        };
        let mut r = None;
        match s.mode {
            SessionMode::InPerson => match s.room.as_deref().and_then(|x| room.get(x)) {
                Some(&ri) => r = Some(ri),
                None => {
                    bad("H1", format!("session {sid}: in-person session needs a known room, got {:?}", s.room), one);
                    continue;
                }
            },
            SessionMode::Virtual => {
                if s.room.is_some() {
                    bad("H1", format!("session {sid}: virtual session must not hold a room"), one.clone());
                }
            }
        }
        let mut pats = Vec::new();
        let mut unknown = false;
        for p in &s.patients {
            match pat.get(p.as_str()) {
                Some(&i) => pats.push(i),
                None => unknown = true,
            }
        }
        if unknown {
            bad("H1", format!("session {sid}: patients must be a list of known patient ids"), one);
            continue;
        }
        let mut uniq = pats.clone();
        uniq.sort_unstable();
        uniq.dedup();
        if uniq.len() != pats.len() {
            bad("H1", format!("session {sid}: a patient is listed twice"), one);
            pats = uniq;
        }
        good.push(Good { sid, typ: s.kind, clin: c, day: s.day, start: s.start, dur, mode: s.mode, room: r, pats });
    }

    for g in &good {
        let cl = &inst.clinicians[g.clin];
        let sid = g.sid;
        let one = || vec![sid.to_string()];
        let w = when(g.day, g.start, g.dur);
        // H2 one site
        for &p in &g.pats {
            let pp = &inst.patients[p];
            if pp.site != cl.site {
                bad(
                    "H2",
                    format!("session {sid}: patient {} (site {}) with clinician {} (site {})", pp.id, pp.site, cl.id, cl.site),
                    one(),
                );
            }
        }
        if let Some(r) = g.room
            && inst.rooms[r].site != cl.site
        {
            bad("H2", format!("session {sid}: room {} is not at clinician {}'s site", inst.rooms[r].id, cl.id), one());
        }
        // H3 credentials
        let allowed = cl.credentials.iter().fold(0u8, |m, c| m | credential_mask(c));
        if allowed & (1 << g.typ.index()) == 0 {
            bad("H3", format!("session {sid}: clinician {} ({}) may not lead {}", cl.id, cl.credentials.join("/"), g.typ.name()), one());
        }
        // H4 size
        if g.typ.is_group() {
            if !(3..=12).contains(&g.pats.len()) {
                bad("H4", format!("session {sid}: group has {} patients, must be 3..12", g.pats.len()), one());
            }
        } else if g.pats.len() != 1 {
            bad("H4", format!("session {sid}: {} must have exactly 1 patient, has {}", g.typ.name(), g.pats.len()), one());
        }
        // H5 population
        let pops: HashSet<_> = g.pats.iter().map(|&p| inst.patients[p].population).collect();
        if pops.len() > 1 {
            bad("H5", format!("session {sid}: mixes populations"), one());
        }
        // H6 / H7 availability
        for &p in &g.pats {
            let pp = &inst.patients[p];
            if !available(&pp.availability, g.day, g.start, g.dur) {
                bad("H6", format!("session {sid}: patient {} not available {w}", pp.id), one());
            }
        }
        if !available(&cl.availability, g.day, g.start, g.dur) {
            bad("H7", format!("session {sid}: clinician {} not available {w}", cl.id), one());
        }
        // H11 room kind and capacity
        if let Some(r) = g.room {
            let rm = &inst.rooms[r];
            if g.typ.is_group() {
                if rm.kind != RoomKind::Group {
                    bad("H11", format!("session {sid}: group in room {} of kind office", rm.id), one());
                } else if g.pats.len() as u32 > rm.capacity.unwrap_or(0) {
                    bad(
                        "H11",
                        format!("session {sid}: {} patients in room {} of capacity {}", g.pats.len(), rm.id, rm.capacity.unwrap_or(0)),
                        one(),
                    );
                }
            } else if rm.kind != RoomKind::Office {
                bad("H11", format!("session {sid}: {} must use an office, room {} is a group room", g.typ.name(), rm.id), one());
            }
        }
        // H12 modality, H13 licensure
        for &p in &g.pats {
            let pp = &inst.patients[p];
            let ok = match pp.mode {
                crate::model::PatientMode::Either => true,
                crate::model::PatientMode::InPerson => g.mode == SessionMode::InPerson,
                crate::model::PatientMode::Virtual => g.mode == SessionMode::Virtual,
            };
            if !ok {
                bad("H12", format!("session {sid}: patient {} does not accept this session's mode", pp.id), one());
            }
            if g.mode == SessionMode::Virtual && !cl.licenses.contains(&pp.home_state) {
                bad(
                    "H13",
                    format!("session {sid}: clinician {} not licensed in {}, home of virtual attendee {}", cl.id, pp.home_state, pp.id),
                    one(),
                );
            }
            if g.mode == SessionMode::InPerson {
                let st = site_state.get(cl.site.as_str()).copied().unwrap_or("");
                if !cl.licenses.iter().any(|l| l == st) {
                    bad("H13", format!("session {sid}: clinician {} not licensed in site state", cl.id), one());
                }
            }
        }
    }

    // H8 / H9 / H10 no overlap
    let mut overlaps = |code: &'static str, kind: &str, keys: &dyn Fn(&Good) -> Vec<String>| {
        let mut busy: BTreeMap<String, Vec<(i64, i64, i64, &str)>> = BTreeMap::new();
        for g in &good {
            for k in keys(g) {
                busy.entry(k).or_default().push((g.day, g.start, g.start + g.dur, g.sid));
            }
        }
        for (key, items) in &busy {
            for a in 0..items.len() {
                for b in a + 1..items.len() {
                    let (d1, s1, e1, id1) = items[a];
                    let (d2, s2, e2, id2) = items[b];
                    if d1 == d2 && s1 < e2 && s2 < e1 {
                        bad(
                            code,
                            format!("{kind} {key}: sessions {id1} and {id2} overlap on {}", DAY_NAMES[d1 as usize]),
                            vec![id1.to_string(), id2.to_string()],
                        );
                    }
                }
            }
        }
    };
    overlaps("H8", "patient", &|g| g.pats.iter().map(|&p| inst.patients[p].id.clone()).collect());
    overlaps("H9", "clinician", &|g| vec![inst.clinicians[g.clin].id.clone()]);
    overlaps("H10", "room", &|g| g.room.map(|r| inst.rooms[r].id.clone()).into_iter().collect());

    // H14 clinician hours
    let mut led = vec![0i64; inst.clinicians.len()];
    let mut led_by: Vec<Vec<String>> = vec![Vec::new(); inst.clinicians.len()];
    for g in &good {
        led[g.clin] += g.dur;
        led_by[g.clin].push(g.sid.to_string());
    }
    for (c, cl) in inst.clinicians.iter().enumerate() {
        if led[c] as f64 > 2.0 * cl.max_hours {
            bad("H14", format!("clinician {}: leads {} h > max {} h", cl.id, led[c] as f64 / 2.0, cl.max_hours), led_by[c].clone());
        }
    }

    // per-patient tallies
    let np = inst.patients.len();
    let mut slots = vec![0i64; np];
    let mut count = vec![[0i64; 3]; np];
    let mut of_type: Vec<[Vec<String>; 5]> = vec![Default::default(); np];
    let mut group_days: Vec<BTreeMap<i64, Vec<&str>>> = vec![BTreeMap::new(); np];
    let mut inperson_days = vec![[false; DAYS]; np];
    let mut obj = Objective::default();
    for g in &good {
        if g.typ.is_group() {
            obj.groups += 1;
        }
        for &p in &g.pats {
            if g.typ.countable() {
                slots[p] += g.dur;
            }
            of_type[p][g.typ.index()].push(g.sid.to_string());
            if !g.typ.is_group() {
                count[p][g.typ.index() - 2] += 1;
            } else {
                group_days[p].entry(g.day).or_default().push(g.sid);
            }
            if g.mode == SessionMode::InPerson {
                inperson_days[p][g.day as usize] = true;
            }
            if g.typ == SessionType::Individual && inst.clinicians[g.clin].id != inst.patients[p].primary {
                obj.not_primary += 1;
            }
        }
    }
    let mut order: Vec<usize> = (0..np).collect();
    order.sort_by(|&a, &b| inst.patients[a].id.cmp(&inst.patients[b].id));
    for p in order {
        let pp = &inst.patients[p];
        for (day, sids) in &group_days[p] {
            if sids.len() > 1 {
                bad(
                    "H15",
                    format!("patient {}: {} groups on {} ({})", pp.id, sids.len(), DAY_NAMES[*day as usize], sids.join(", ")),
                    sids.iter().map(|s| s.to_string()).collect(),
                );
            }
        }
        for (k, t) in SessionType::ONE_TO_ONE.iter().enumerate() {
            let need = pp.needs.of(*t).unwrap_or(0) as i64;
            if count[p][k] > need {
                bad(
                    "H16",
                    format!("patient {}: {} {} sessions, needs only {need}", pp.id, count[p][k], t.name()),
                    of_type[p][t.index()].clone(),
                );
            }
        }
        if slots[p] as f64 > 2.0 * pp.max_hours {
            bad(
                "H17",
                format!("patient {}: {} countable h > max {} h", pp.id, slots[p] as f64 / 2.0, pp.max_hours),
                of_type[p].iter().flatten().cloned().collect(),
            );
        }
        let req = (2.0 * pp.required_hours).ceil() as i64;
        obj.shortfall_half_hours += (req - slots[p]).max(0);
        for (k, t) in SessionType::ONE_TO_ONE.iter().enumerate() {
            obj.unmet_needs += (pp.needs.of(*t).unwrap_or(0) as i64 - count[p][k]).max(0);
        }
        obj.in_person_days += inperson_days[p].iter().filter(|&&x| x).count() as i64;
    }
    (viol, obj.finish())
}
