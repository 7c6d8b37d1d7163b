//! Plain-English reasons why a patient is still short of hours or of a needed 1:1 session.
//!
//! Every reason is computed by checking the instance against the final schedule: first what
//! the patient's windows allow at all, then who could lead a session in those windows, then
//! what the final schedule has already used up (clinicians, rooms, offices, other patients).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::model::{
    DAY_NAMES, DAYS, Instance, PatientMode, Population, RoomKind, SLOTS, SessionMode, SessionType, Solution, credential_mask, hhmm,
};

/// Why one patient's plan is incomplete.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Explanation {
    pub patient: String,
    pub site: String,
    /// Countable hours scheduled.
    pub hours: f64,
    pub required_hours: f64,
    /// 1:1 sessions still missing: (type name, how many).
    pub missing: Vec<(String, u32)>,
    /// Plain-English reasons, most fundamental first.
    pub reasons: Vec<String>,
}

fn mask(start: usize, dur: usize) -> u32 {
    ((1u32 << dur) - 1) << start
}

fn masks(w: &[[i64; 3]]) -> [u32; DAYS] {
    crate::site::windows_to_masks(w)
}

fn longest_run(m: u32) -> usize {
    let mut best = 0;
    let mut cur = 0;
    for t in 0..SLOTS {
        if m >> t & 1 == 1 {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

/// "Tue/Thu 17:00-21:30, Sat 08:00-14:00" for per-day slot masks.
pub(crate) fn describe(ms: &[u32; DAYS]) -> String {
    let mut by_span: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for (d, &m) in ms.iter().enumerate() {
        let mut t = 0;
        while t < SLOTS {
            if m >> t & 1 == 1 {
                let a = t;
                while t < SLOTS && m >> t & 1 == 1 {
                    t += 1;
                }
                by_span.entry((a, t)).or_default().push(d);
            } else {
                t += 1;
            }
        }
    }
    let mut parts: Vec<(usize, String)> = by_span
        .into_iter()
        .map(|((a, b), days)| {
            let names: Vec<&str> = days.iter().map(|&d| DAY_NAMES[d]).collect();
            (days[0], format!("{} {}–{}", names.join("/"), hhmm(a as i64), hhmm(b as i64)))
        })
        .collect();
    parts.sort();
    if parts.is_empty() {
        return "no time at all".into();
    }
    parts.into_iter().map(|p| p.1).collect::<Vec<_>>().join(", ")
}

fn days_of(ms: &[u32; DAYS]) -> String {
    let d: Vec<&str> = (0..DAYS).filter(|&d| ms[d] != 0).map(|d| DAY_NAMES[d]).collect();
    if d.is_empty() { "no day".into() } else { d.join("/") }
}

fn fmt_h(half: i64) -> String {
    if half % 2 == 0 { format!("{} h", half / 2) } else { format!("{:.1} h", half as f64 / 2.0) }
}

/// An open group: (type, day, start, population, virtual, clinician, size, capacity).
type GroupInfo = (SessionType, usize, usize, Population, bool, usize, usize, usize);

struct Occ {
    pbusy: Vec<[u32; DAYS]>,
    pgday: Vec<u8>,
    php: Vec<i64>,
    pcnt: Vec<[u32; 3]>,
    cbusy: Vec<[u32; DAYS]>,
    cload: Vec<i64>,
    rbusy: Vec<[u32; DAYS]>,
    /// (site, day, slot) -> offices in use
    office_use: HashMap<(String, usize, usize), usize>,
    /// groups: (type, day, start, population, virtual, clinician, size, capacity)
    groups: Vec<GroupInfo>,
}

fn occupancy(inst: &Instance, sol: &Solution) -> Occ {
    let pi: HashMap<&str, usize> = inst.patients.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
    let ci: HashMap<&str, usize> = inst.clinicians.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    let ri: HashMap<&str, usize> = inst.rooms.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
    let mut o = Occ {
        pbusy: vec![[0; DAYS]; inst.patients.len()],
        pgday: vec![0; inst.patients.len()],
        php: vec![0; inst.patients.len()],
        pcnt: vec![[0; 3]; inst.patients.len()],
        cbusy: vec![[0; DAYS]; inst.clinicians.len()],
        cload: vec![0; inst.clinicians.len()],
        rbusy: vec![[0; DAYS]; inst.rooms.len()],
        office_use: HashMap::new(),
        groups: Vec::new(),
    };
    for s in &sol.sessions {
        if !(0..DAYS as i64).contains(&s.day) || s.start < 0 {
            continue;
        }
        let (d, st, dur) = (s.day as usize, s.start as usize, s.kind.duration() as usize);
        if st + dur > SLOTS {
            continue;
        }
        let m = mask(st, dur);
        let c = ci.get(s.clinician.as_str()).copied();
        if let Some(c) = c {
            o.cbusy[c][d] |= m;
            o.cload[c] += dur as i64;
        }
        let mut cap = 12;
        if let Some(&r) = s.room.as_deref().and_then(|r| ri.get(r)) {
            o.rbusy[r][d] |= m;
            if inst.rooms[r].kind == RoomKind::Office {
                for t in st..st + dur {
                    *o.office_use.entry((inst.rooms[r].site.clone(), d, t)).or_default() += 1;
                }
            } else {
                cap = inst.rooms[r].capacity.unwrap_or(0).min(12) as usize;
            }
        }
        let mut pop = Population::Adult;
        for p in &s.patients {
            if let Some(&p) = pi.get(p.as_str()) {
                pop = inst.patients[p].population;
                o.pbusy[p][d] |= m;
                if s.kind.countable() {
                    o.php[p] += dur as i64;
                }
                if s.kind.is_group() {
                    o.pgday[p] |= 1 << d;
                } else {
                    o.pcnt[p][s.kind.index() - 2] += 1;
                }
            }
        }
        if s.kind.is_group()
            && let Some(c) = c
        {
            o.groups.push((s.kind, d, st, pop, s.mode == SessionMode::Virtual, c, s.patients.len(), cap));
        }
    }
    o
}

/// Explanations for every patient short of hours or of a needed 1:1 session in `sol`.
pub fn explain(inst: &Instance, sol: &Solution) -> Vec<Explanation> {
    let occ = occupancy(inst, sol);
    let site_state: HashMap<&str, &str> = inst.sites.iter().map(|s| (s.id.as_str(), s.state.as_str())).collect();
    let mut pre = Pre {
        pav: inst.patients.iter().map(|p| masks(&p.availability)).collect(),
        cav: inst.clinicians.iter().map(|c| masks(&c.availability)).collect(),
        by_site: HashMap::new(),
        cred: inst.clinicians.iter().map(|c| c.credentials.iter().fold(0u8, |m, x| m | credential_mask(x))).collect(),
    };
    for (i, p) in inst.patients.iter().enumerate() {
        pre.by_site.entry(p.site.clone()).or_default().0.push(i);
    }
    for (i, c) in inst.clinicians.iter().enumerate() {
        pre.by_site.entry(c.site.clone()).or_default().1.push(i);
    }
    let mut out = Vec::new();
    for (p, pt) in inst.patients.iter().enumerate() {
        let req = (2.0 * pt.required_hours).ceil() as i64;
        let short = (req - occ.php[p]).max(0);
        let mut missing = Vec::new();
        for (k, t) in SessionType::ONE_TO_ONE.iter().enumerate() {
            let need = pt.needs.of(*t).unwrap_or(0);
            if occ.pcnt[p][k] < need {
                missing.push((*t, need - occ.pcnt[p][k]));
            }
        }
        if short == 0 && missing.is_empty() {
            continue;
        }
        let ctx =
            Ctx { pre: &pre, inst, occ: &occ, p, av: pre.pav[p], site_state: site_state.get(pt.site.as_str()).copied().unwrap_or("") };
        let mut reasons = Vec::new();
        if short > 0 {
            reasons.extend(ctx.hours_reasons(req, short));
        }
        for &(t, _) in &missing {
            reasons.extend(ctx.one_reasons(t));
        }
        out.push(Explanation {
            patient: pt.id.clone(),
            site: pt.site.clone(),
            hours: occ.php[p] as f64 / 2.0,
            required_hours: pt.required_hours,
            missing: missing.iter().map(|(t, n)| (t.name().to_string(), *n)).collect(),
            reasons,
        });
    }
    out
}

/// Per-instance lookups computed once.
struct Pre {
    pav: Vec<[u32; DAYS]>,
    cav: Vec<[u32; DAYS]>,
    /// site id -> (patients, clinicians)
    by_site: HashMap<String, (Vec<usize>, Vec<usize>)>,
    cred: Vec<u8>,
}

struct Ctx<'a> {
    pre: &'a Pre,
    inst: &'a Instance,
    occ: &'a Occ,
    p: usize,
    av: [u32; DAYS],
    site_state: &'a str,
}

impl Ctx<'_> {
    fn pt(&self) -> &crate::model::Patient {
        &self.inst.patients[self.p]
    }

    fn modes(&self) -> Vec<bool> {
        match self.pt().mode {
            PatientMode::InPerson => vec![false],
            PatientMode::Virtual => vec![true],
            PatientMode::Either => vec![false, true],
        }
    }

    /// Clinicians of the patient's site who may lead `t` for this patient in mode `virt`.
    fn leaders(&self, t: SessionType, virt: bool) -> Vec<usize> {
        let pt = self.pt();
        let Some((_, clins)) = self.pre.by_site.get(&pt.site) else {
            return Vec::new();
        };
        clins
            .iter()
            .copied()
            .filter(|&c| {
                let cl = &self.inst.clinicians[c];
                self.pre.cred[c] & (1 << t.index()) != 0
                    && if virt { cl.licenses.contains(&pt.home_state) } else { cl.licenses.iter().any(|l| l == self.site_state) }
            })
            .collect()
    }

    fn pop_word(&self) -> &'static str {
        match self.pt().population {
            Population::Adult => "adults",
            Population::Adolescent => "adolescents",
        }
    }

    #[allow(clippy::needless_range_loop)]
    fn hours_reasons(&self, req: i64, short: i64) -> Vec<String> {
        let pt = self.pt();
        let max = (2.0 * pt.max_hours).floor() as i64;
        let mut r = vec![format!("scheduled {} of the {} required ({} short)", fmt_h(self.occ.php[self.p]), fmt_h(req), fmt_h(short))];
        // 1. what the windows allow at all
        let group_ub: i64 = (0..DAYS)
            .map(|d| match longest_run(self.av[d]) {
                x if x >= 6 => 6,
                x if x >= 3 => 3,
                _ => 0,
            })
            .sum();
        let has2 = (0..DAYS).any(|d| longest_run(self.av[d]) >= 2);
        let one_ub = if has2 { 2 * (pt.needs.individual + pt.needs.family) as i64 } else { 0 };
        let ub = (group_ub + one_ub).min(max);
        if ub < req {
            r.push(format!(
                "their windows ({}) allow at most {} of groups this week (one group a day) plus {} of individual/family sessions, less than the {} required",
                describe(&self.av),
                fmt_h(group_ub),
                fmt_h(one_ub),
                fmt_h(req)
            ));
            return r;
        }
        // 1b. the same, counting only times when someone who may lead the session is on shift
        let on_shift = |t: SessionType, d: usize, m: u32| {
            self.modes().into_iter().any(|virt| self.leaders(t, virt).iter().any(|&c| self.pre.cav[c][d] & m == m))
        };
        let fits = |t: SessionType, d: usize| {
            let dur = t.duration() as usize;
            (0..=SLOTS - dur).any(|s| self.av[d] & mask(s, dur) == mask(s, dur) && on_shift(t, d, mask(s, dur)))
        };
        let mut staffed_group = 0i64;
        let mut no_leader_days = [0u32; DAYS];
        for d in 0..DAYS {
            if fits(SessionType::ProcessGroup, d) {
                staffed_group += 6;
            } else if fits(SessionType::PsychoedGroup, d) {
                staffed_group += 3;
            } else if self.av[d] != 0 {
                no_leader_days[d] = self.av[d];
            }
        }
        let staffed_one: i64 = [SessionType::Individual, SessionType::Family]
            .iter()
            .map(|&t| {
                let n = pt.needs.of(t).unwrap_or(0) as i64;
                if (0..DAYS).any(|d| fits(t, d)) { 2 * n } else { 0 }
            })
            .sum();
        if (staffed_group + staffed_one).min(max) < req {
            let who = if pt.mode == PatientMode::Virtual {
                format!("nobody licensed in {} (they attend virtually only) who may lead a group", pt.home_state)
            } else {
                "nobody who may lead a group".to_string()
            };
            let gaps = if no_leader_days.iter().any(|&m| m != 0) {
                format!("; {who} is on shift during {}", describe(&no_leader_days))
            } else {
                String::new()
            };
            r.push(format!(
                "their windows ({}) allow at most {} of groups this week (one group a day) plus {} of individual/family sessions at times when a clinician who may lead them is on shift{}",
                describe(&self.av),
                fmt_h(staffed_group),
                fmt_h(staffed_one),
                gaps
            ));
            return r;
        }
        // 2. who could lead a group in those windows, and with whom
        let mut any_leader = false;
        let mut any_peers = false;
        let mut leader_windows = [0u32; DAYS];
        for t in [SessionType::PsychoedGroup, SessionType::ProcessGroup] {
            let dur = t.duration() as usize;
            for virt in self.modes() {
                let leaders = self.leaders(t, virt);
                for d in 0..DAYS {
                    for s in 0..=SLOTS - dur {
                        let m = mask(s, dur);
                        if self.av[d] & m != m {
                            continue;
                        }
                        let lead: Vec<usize> = leaders.iter().copied().filter(|&c| self.pre.cav[c][d] & m == m).collect();
                        if lead.is_empty() {
                            continue;
                        }
                        any_leader = true;
                        leader_windows[d] |= m;
                        let peers = self.peers(d, m, virt, &lead, false);
                        if peers >= 2 {
                            any_peers = true;
                        }
                    }
                }
            }
        }
        if !any_leader {
            let lic = if pt.mode == PatientMode::Virtual {
                format!(" and licensed in {} (they attend virtually only)", pt.home_state)
            } else {
                String::new()
            };
            r.push(format!("no clinician at {} who may lead groups{} works during their windows ({})", pt.site, lic, describe(&self.av)));
            return r;
        }
        if !any_peers {
            r.push(format!(
                "fewer than 3 {} at {} who accept the same session mode can come at any time they can ({}), so no group can form",
                self.pop_word(),
                pt.site,
                describe(&self.av)
            ));
            return r;
        }
        // 3. what the final schedule has used up
        let mut free_days = [0u32; DAYS];
        let mut n_pos = 0usize;
        let mut cnt: BTreeMap<&'static str, usize> = BTreeMap::new();
        let group_rooms: Vec<usize> = self
            .inst
            .rooms
            .iter()
            .enumerate()
            .filter(|(_, x)| x.site == pt.site && x.kind == RoomKind::Group && x.capacity.unwrap_or(0) >= 3)
            .map(|(i, _)| i)
            .collect();
        for t in [SessionType::PsychoedGroup, SessionType::ProcessGroup] {
            let dur = t.duration() as usize;
            if self.occ.php[self.p] + dur as i64 > max {
                *cnt.entry("maxh").or_default() += 1;
                continue;
            }
            for d in 0..DAYS {
                if self.occ.pgday[self.p] & (1 << d) != 0 {
                    continue;
                }
                for s in 0..=SLOTS - dur {
                    let m = mask(s, dur);
                    if self.av[d] & m != m || leader_windows[d] & m != m || self.occ.pbusy[self.p][d] & m != 0 {
                        continue;
                    }
                    n_pos += 1;
                    free_days[d] |= m;
                    // an open group at that very time the patient could join?
                    let mut joinable_full = false;
                    for g in &self.occ.groups {
                        if g.0 == t && g.1 == d && g.2 == s && g.3 == pt.population && self.modes().contains(&g.4) {
                            let lic_ok = !g.4 || self.inst.clinicians[g.5].licenses.contains(&pt.home_state);
                            if lic_ok && g.6 >= g.7 {
                                joinable_full = true;
                            }
                        }
                    }
                    if joinable_full {
                        *cnt.entry("full").or_default() += 1;
                    }
                    let mut blocked_by: Option<&'static str> = None;
                    let mut any_mode_ok = false;
                    for virt in self.modes() {
                        let lead: Vec<usize> = self.leaders(t, virt).into_iter().filter(|&c| self.pre.cav[c][d] & m == m).collect();
                        let free_lead: Vec<usize> = lead
                            .iter()
                            .copied()
                            .filter(|&c| {
                                self.occ.cbusy[c][d] & m == 0
                                    && self.occ.cload[c] + dur as i64 <= (2.0 * self.inst.clinicians[c].max_hours).floor() as i64
                            })
                            .collect();
                        if lead.is_empty() {
                            continue;
                        }
                        if free_lead.is_empty() {
                            let at_max = lead
                                .iter()
                                .all(|&c| self.occ.cload[c] + dur as i64 > (2.0 * self.inst.clinicians[c].max_hours).floor() as i64);
                            blocked_by.get_or_insert(if at_max { "leaders_max" } else { "leaders" });
                            continue;
                        }
                        if !virt && group_rooms.iter().all(|&rm| self.occ.rbusy[rm][d] & m != 0) {
                            blocked_by.get_or_insert("rooms");
                            continue;
                        }
                        if self.peers(d, m, virt, &free_lead, true) < 2 {
                            blocked_by.get_or_insert("peers");
                            continue;
                        }
                        any_mode_ok = true;
                    }
                    if !any_mode_ok {
                        *cnt.entry(blocked_by.unwrap_or("leaders")).or_default() += 1;
                    } else {
                        *cnt.entry("open").or_default() += 1;
                    }
                }
            }
        }
        if n_pos == 0 {
            let days = days_of(&self.av);
            r.push(format!(
                "on every day they can come ({days}) they already have a group (one a day is the rule) or are in other sessions whenever a group leader is on shift"
            ));
            return r;
        }
        let when = describe(&free_days);
        let mut ranked: Vec<(&&str, &usize)> = cnt.iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (k, n) in ranked.into_iter().take(2) {
            let share = format!("{}/{} of the group times still open to them", n, n_pos);
            let txt = match *k {
                "leaders" => format!(
                    "every clinician who may lead a group{} is already booked at the times they can still come ({when}; {share})",
                    if pt.mode == PatientMode::Virtual { format!(" and is licensed in {}", pt.home_state) } else { String::new() }
                ),
                "leaders_max" => format!(
                    "the clinicians who could lead a group when they can come ({when}) have reached their weekly maximum hours ({share})"
                ),
                "rooms" => format!(
                    "every group room at {} is full at the times they can come ({when}) and they attend in person only ({share})",
                    pt.site
                ),
                "peers" => format!(
                    "at the times they can still come ({when}) fewer than 2 other {} who need hours are free to make up a group ({share})",
                    self.pop_word()
                ),
                "full" => {
                    format!("the groups running at the times they can come are full ({share})")
                }
                "maxh" => format!("another group would take them past their {} weekly maximum", fmt_h(max)),
                _ => format!(
                    "a group could still be formed at some of the times they can come ({when}), but it would cost more than it gains elsewhere in the schedule (search limit)"
                ),
            };
            r.push(txt);
        }
        r
    }

    /// Other patients (counted up to 2) of the same population and site who could attend with `virt` at (d, m)
    /// under at least one of `leaders` (licenses for virtual); with `now`, only those still
    /// free in the final schedule and short of hours.
    fn peers(&self, d: usize, m: u32, virt: bool, leaders: &[usize], now: bool) -> usize {
        let pt = self.pt();
        let Some((pats, _)) = self.pre.by_site.get(&pt.site) else {
            return 0;
        };
        pats.iter()
            .filter(|&&q| {
                let o = &self.inst.patients[q];
                q != self.p
                    && o.population == pt.population
                    && match o.mode {
                        PatientMode::Either => true,
                        PatientMode::InPerson => !virt,
                        PatientMode::Virtual => virt,
                    }
                    && self.pre.pav[q][d] & m == m
                    && (!virt || leaders.iter().any(|&c| self.inst.clinicians[c].licenses.contains(&o.home_state)))
                    && (!now
                        || (self.occ.pbusy[q][d] & m == 0
                            && self.occ.pgday[q] & (1 << d) == 0
                            && self.occ.php[q] < (2.0 * o.required_hours).ceil() as i64))
            })
            .take(2) // callers only ask "at least 2 others?"
            .count()
    }

    fn one_reasons(&self, t: SessionType) -> Vec<String> {
        let pt = self.pt();
        let dur = t.duration() as usize;
        let label = t.label();
        let who = match t {
            SessionType::MedMgmt => "prescriber (MD/NP)",
            _ => "therapist",
        };
        let max = (2.0 * pt.max_hours).floor() as i64;
        if t.countable() && self.occ.php[self.p] + dur as i64 > max {
            return vec![format!(
                "no {label}: they already have {} of sessions, the most they may be given is {}",
                fmt_h(self.occ.php[self.p]),
                fmt_h(max)
            )];
        }
        let any_cred = self
            .inst
            .clinicians
            .iter()
            .any(|c| c.site == pt.site && c.credentials.iter().fold(0u8, |m, x| m | credential_mask(x)) & (1 << t.index()) != 0);
        if !any_cred {
            return vec![format!("no {label}: no {who} works at {}", pt.site)];
        }
        let mut static_ok = false;
        let mut free_pos = 0;
        let mut cnt: BTreeMap<&'static str, usize> = BTreeMap::new();
        let offices = self.inst.rooms.iter().filter(|x| x.site == pt.site && x.kind == RoomKind::Office).count();
        for virt in self.modes() {
            let leaders = self.leaders(t, virt);
            for d in 0..DAYS {
                for s in 0..=SLOTS - dur {
                    let m = mask(s, dur);
                    if self.av[d] & m != m {
                        continue;
                    }
                    let lead: Vec<usize> = leaders.iter().copied().filter(|&c| self.pre.cav[c][d] & m == m).collect();
                    if lead.is_empty() {
                        continue;
                    }
                    static_ok = true;
                    if self.occ.pbusy[self.p][d] & m != 0 {
                        *cnt.entry("self").or_default() += 1;
                        continue;
                    }
                    free_pos += 1;
                    let free: Vec<usize> = lead
                        .iter()
                        .copied()
                        .filter(|&c| {
                            self.occ.cbusy[c][d] & m == 0
                                && self.occ.cload[c] + dur as i64 <= (2.0 * self.inst.clinicians[c].max_hours).floor() as i64
                        })
                        .collect();
                    if free.is_empty() {
                        *cnt.entry("clin").or_default() += 1;
                        continue;
                    }
                    if !virt && (s..s + dur).any(|x| self.occ.office_use.get(&(pt.site.clone(), d, x)).copied().unwrap_or(0) >= offices) {
                        *cnt.entry("office").or_default() += 1;
                        continue;
                    }
                    *cnt.entry("open").or_default() += 1;
                }
            }
        }
        if !static_ok {
            let lic = if pt.mode == PatientMode::Virtual {
                format!(" licensed in {} (they attend virtually only)", pt.home_state)
            } else {
                String::new()
            };
            return vec![format!("no {label}: no {who}{lic} at {} is on shift during their windows ({})", pt.site, describe(&self.av))];
        }
        let mut ranked: Vec<(&&str, &usize)> = cnt.iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let Some((k, _)) = ranked.first() else {
            return vec![];
        };
        let txt = match **k {
            "self" => format!(
                "no {label}: whenever a {who} who could see them is on shift, they are already in another session{}",
                if free_pos == 0 { "" } else { " or the clinicians are booked" }
            ),
            "clin" => format!(
                "no {label}: every {who} who could see them{} is booked or at their weekly maximum at the times they are free",
                if pt.mode == PatientMode::Virtual { format!(" (licensed in {})", pt.home_state) } else { String::new() }
            ),
            "office" => format!(
                "no {label}: they attend in person only and every office at {} is taken at the times they and a {who} are both free",
                pt.site
            ),
            _ => format!(
                "no {label}: a slot with a free {who} exists, but using it would cost more elsewhere in the schedule (search limit)"
            ),
        };
        vec![txt]
    }
}
