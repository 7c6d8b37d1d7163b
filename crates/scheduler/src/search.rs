//! Construction and large-neighbourhood search for one site.
//!
//! Recreate = greedy insertion (shortfall patients into open groups, then the best new group
//! template, then 1:1 needs at the cheapest slot); ruin = remove a few related sessions;
//! acceptance = late-acceptance hill climbing on the exact objective. Every decision is driven
//! by the lane's own PRNG, never by the clock, so a lane's trajectory depends only on
//! (seed, site, lane, iterations).

use crate::rng::Rng;
use crate::site::{GROUP_MAX, GROUP_MIN, NONE16, SiteC, mask};
use crate::state::{DUR, Stability, State};

/// Tuning knobs of a lane.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Knobs {
    /// Random bonus (objective units) added to template scores: diversification.
    pub noise: i64,
}

fn pick_value(short: i32, dur: u32) -> i64 {
    500 * (short.min(dur as i32)) as i64
}

/// Put patients who are short of hours into open groups with a free seat.
pub(crate) fn fill_groups(st: &mut State, site: &SiteC, stab: &Stability, rng: &mut Rng) {
    let mut cand: Vec<u16> =
        (0..site.pats.len()).filter(|&p| st.short_of(site, p) > 0 && st.php[p] < site.pats[p].max).map(|p| p as u16).collect();
    if cand.is_empty() {
        return;
    }
    rng.shuffle(&mut cand);
    cand.sort_by_key(|&p| -st.short_of(site, p as usize));
    let gids: Vec<u32> = st.alive_groups().collect();
    for p in cand {
        let pu = p as usize;
        let mut best: Option<(i64, u32)> = None;
        for &gid in &gids {
            let g = &st.groups[gid as usize];
            if g.pats.len() >= st.group_cap(site, g) || !st.can_join(site, g, pu) {
                continue;
            }
            let dur = DUR[g.typ as usize];
            let mut gain = pick_value(st.short_of(site, pu), dur);
            if !g.virt && st.pinp[pu][g.day as usize] == 0 {
                gain -= 2;
            }
            if stab.weight > 0 && State::group_kept(g, stab) {
                // re-planning: joining changes a session of the current schedule
                gain -= stab.weight;
            }
            if best.is_none_or(|(b, _)| gain > b) {
                best = Some((gain, gid));
            }
        }
        if let Some((gain, gid)) = best
            && gain > 0
        {
            st.add_pat(site, stab, gid, p);
        }
    }
}

/// A template choice: (score, typ, clin, day, start, virt, room, patients).
type Choice = (i64, u8, u16, u8, u8, bool, u16, Vec<u16>);

/// Patients with no shortfall who could complete a group of fewer than 3 (value 0 or -2).
#[allow(clippy::too_many_arguments)]
fn fillers(
    st: &State,
    site: &SiteC,
    adol: bool,
    typ: u8,
    day: usize,
    m: u32,
    virt: bool,
    lic: u128,
    taken: &[(i64, u16)],
    need: usize,
) -> Option<Vec<(i64, u16)>> {
    let dur = DUR[typ as usize] as i32;
    let mut out: Vec<(i64, u16)> = Vec::new();
    for (p, pc) in site.pats.iter().enumerate() {
        if pc.adol != adol
            || pc.avail[day] & m != m
            || st.pbusy[p][day] & m != 0
            || st.pgday[p] & (1 << day) != 0
            || st.php[p] + dur > pc.max
            || taken.iter().any(|&(_, q)| q as usize == p)
        {
            continue;
        }
        let v = if virt {
            if !pc.virt || lic & (1u128 << pc.home) == 0 {
                continue;
            }
            0
        } else {
            if !pc.inp {
                continue;
            }
            if st.pinp[p][day] == 0 { -2 } else { 0 }
        };
        out.push((v, p as u16));
        if v == 0 && out.iter().filter(|x| x.0 == 0).count() >= need {
            break;
        }
    }
    if out.len() < need {
        return None;
    }
    out.sort_by_key(|x| -x.0);
    out.truncate(need);
    Some(out)
}

/// Open the best new group (most hours covered), if any gains. Returns true if one opened.
pub(crate) fn open_best_group(st: &mut State, site: &SiteC, stab: &Stability, rng: &mut Rng, knobs: Knobs) -> bool {
    let short: Vec<u16> =
        (0..site.pats.len()).filter(|&p| st.short_of(site, p) > 0 && st.php[p] < site.pats[p].max).map(|p| p as u16).collect();
    if short.is_empty() {
        return false;
    }
    let mut best: Option<Choice> = None;
    let mut best_score = 0i64;
    let mut vi: Vec<(i64, u16)> = Vec::new();
    let mut vv: Vec<(i64, u16)> = Vec::new();
    let mut sel: Vec<(i64, u16)> = Vec::new();
    for adol in [false, true] {
        let pl: Vec<u16> = short.iter().copied().filter(|&p| site.pats[p as usize].adol == adol).collect();
        if pl.is_empty() {
            continue;
        }
        for typ in 0..2u8 {
            let dur = DUR[typ as usize];
            let leaders = &site.leaders[typ as usize];
            if leaders.is_empty() {
                continue;
            }
            for day in 0..6usize {
                let lead_day = leaders.iter().fold(0u32, |a, &c| a | site.clins[c as usize].avail[day]);
                for start in 0..=(29 - dur) {
                    let m = mask(start, dur);
                    if lead_day & m != m {
                        continue;
                    }
                    vi.clear();
                    vv.clear();
                    for &p in &pl {
                        let pu = p as usize;
                        let pc = &site.pats[pu];
                        if pc.avail[day] & m != m
                            || st.pbusy[pu][day] & m != 0
                            || st.pgday[pu] & (1 << day) != 0
                            || st.php[pu] + dur as i32 > pc.max
                        {
                            continue;
                        }
                        let base = pick_value(st.short_of(site, pu), dur);
                        if pc.inp {
                            vi.push((base - if st.pinp[pu][day] == 0 { 2 } else { 0 }, p));
                        }
                        if pc.virt {
                            vv.push((base, p));
                        }
                    }
                    let noise = if knobs.noise > 0 { rng.below(knobs.noise as usize) as i64 } else { 0 };
                    // in person
                    if !vi.is_empty() {
                        let ub: i64 = top_sum(&mut vi, GROUP_MAX) - 10 + noise;
                        if ub > best_score {
                            let room = (0..site.grooms.len()).rev().find(|&r| st.rbusy[r][day] & m == 0);
                            let leader = pick_leader(st, site, typ, day, m, dur, rng);
                            if let (Some(r), Some(c)) = (room, leader) {
                                let cap = site.grooms[r].1 as usize;
                                sel.clear();
                                sel.extend(vi.iter().take(cap).copied());
                                if sel.len() < GROUP_MIN {
                                    match fillers(st, site, adol, typ, day, m, false, 0, &sel, GROUP_MIN - sel.len()) {
                                        Some(f) => sel.extend(f),
                                        None => sel.clear(),
                                    }
                                }
                                if sel.len() >= GROUP_MIN {
                                    let score = sel.iter().map(|x| x.0).sum::<i64>() - 10 + noise;
                                    if score > best_score {
                                        // smallest free room that seats them
                                        let room = (0..site.grooms.len())
                                            .find(|&q| st.rbusy[q][day] & m == 0 && site.grooms[q].1 as usize >= sel.len())
                                            .unwrap_or(r);
                                        best_score = score;
                                        best = Some((
                                            score,
                                            typ,
                                            c,
                                            day as u8,
                                            start as u8,
                                            false,
                                            room as u16,
                                            sel.iter().map(|x| x.1).collect(),
                                        ));
                                    }
                                }
                            }
                        }
                    }
                    // virtual
                    if !vv.is_empty() {
                        let ub: i64 = top_sum(&mut vv, GROUP_MAX) - 10 + noise;
                        if ub > best_score {
                            // the free leader covering the most value
                            let mut bl: Option<(i64, u16)> = None;
                            for &c in leaders {
                                let cu = c as usize;
                                if !st.clin_free(site, cu, day, m, dur) {
                                    continue;
                                }
                                let lic = site.clins[cu].lic;
                                let mut n = 0;
                                let mut v = 0i64;
                                for &(x, p) in &vv {
                                    if lic & (1u128 << site.pats[p as usize].home) != 0 {
                                        v += x;
                                        n += 1;
                                        if n == GROUP_MAX {
                                            break;
                                        }
                                    }
                                }
                                let key = v * 64 + specialist(site, cu, typ) * 32 + rng.below(16) as i64;
                                if bl.is_none_or(|(k, _)| key > k) {
                                    bl = Some((key, c));
                                }
                            }
                            if let Some((_, c)) = bl {
                                let lic = site.clins[c as usize].lic;
                                sel.clear();
                                sel.extend(
                                    vv.iter().filter(|&&(_, p)| lic & (1u128 << site.pats[p as usize].home) != 0).take(GROUP_MAX).copied(),
                                );
                                if sel.len() < GROUP_MIN && !sel.is_empty() {
                                    match fillers(st, site, adol, typ, day, m, true, lic, &sel, GROUP_MIN - sel.len()) {
                                        Some(f) => sel.extend(f),
                                        None => sel.clear(),
                                    }
                                }
                                if sel.len() >= GROUP_MIN {
                                    let score = sel.iter().map(|x| x.0).sum::<i64>() - 10 + noise;
                                    if score > best_score {
                                        best_score = score;
                                        best =
                                            Some((score, typ, c, day as u8, start as u8, true, NONE16, sel.iter().map(|x| x.1).collect()));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    match best {
        Some((_, typ, c, day, start, virt, room, pats)) => {
            st.add_group(site, stab, typ, c, day, start, virt, room, &pats);
            true
        }
        None => false,
    }
}

fn specialist(site: &SiteC, c: usize, typ: u8) -> i64 {
    // leaders who can do nothing else are the cheapest to spend on a group
    (site.clins[c].lead == 1 << typ) as i64
}

/// Sort descending and sum the first `k`.
fn top_sum(v: &mut [(i64, u16)], k: usize) -> i64 {
    v.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    v.iter().take(k).map(|x| x.0).sum()
}

/// A free leader for an in-person group: specialists first (e.g. CADC-only for psychoed),
/// then the one with the most hours left.
fn pick_leader(st: &State, site: &SiteC, typ: u8, day: usize, m: u32, dur: u32, rng: &mut Rng) -> Option<u16> {
    let mut best: Option<(i64, u16)> = None;
    for &c in &site.leaders[typ as usize] {
        let cu = c as usize;
        if !site.clins[cu].inp_ok || !st.clin_free(site, cu, day, m, dur) {
            continue;
        }
        let slack = (site.clins[cu].max - st.cload[cu]) as i64;
        let key = specialist(site, cu, typ) * 1000 + slack + rng.below(8) as i64;
        if best.is_none_or(|(k, _)| key > k) {
            best = Some((key, c));
        }
    }
    best.map(|x| x.1)
}

/// Place every unmet 1:1 need at its cheapest feasible slot.
pub(crate) fn place_ones(st: &mut State, site: &SiteC, stab: &Stability, rng: &mut Rng) {
    let mut order: Vec<u16> =
        (0..site.pats.len()).filter(|&p| (0..3).any(|k| st.pcnt[p][k] < site.pats[p].needs[k])).map(|p| p as u16).collect();
    rng.shuffle(&mut order);
    for p in order {
        let pu = p as usize;
        for k in 0..3u8 {
            while st.pcnt[pu][k as usize] < site.pats[pu].needs[k as usize] {
                match best_one(st, site, pu, k + 2, rng) {
                    Some((c, day, start, virt)) => {
                        st.add_one(site, stab, k + 2, p, c, day, start, virt);
                    }
                    None => break,
                }
            }
        }
    }
}

/// Cheapest (clinician, day, start, virtual) for a 1:1 session of `typ` for patient `p`.
pub(crate) fn best_one(st: &State, site: &SiteC, p: usize, typ: u8, rng: &mut Rng) -> Option<(u16, u8, u8, bool)> {
    let pc = &site.pats[p];
    let dur = DUR[typ as usize];
    if typ != 4 && st.php[p] + dur as i32 > pc.max {
        return None;
    }
    let mut best: Option<(i64, (u16, u8, u8, bool))> = None;
    for day in 0..6usize {
        let free = pc.avail[day] & !st.pbusy[p][day];
        if free == 0 {
            continue;
        }
        let has_group = st.pgday[p] & (1 << day) != 0;
        for start in 0..=(29 - dur) {
            let m = mask(start, dur);
            if free & m != m {
                continue;
            }
            let end = start + dur;
            let at_edge = start == 0 || (free >> (start - 1)) & 1 == 0 || end >= 29 || (free >> end) & 1 == 0;
            let frag = if has_group || at_edge { 0 } else { 5 };
            for &c in &site.leaders[typ as usize] {
                let cu = c as usize;
                if !st.clin_free(site, cu, day, m, dur) {
                    continue;
                }
                let np = (typ == 2 && pc.primary != c) as i64 * 10;
                for virt in [true, false] {
                    if virt {
                        if !pc.virt || site.clins[cu].lic & (1u128 << pc.home) == 0 {
                            continue;
                        }
                    } else if !pc.inp || !site.clins[cu].inp_ok || !st.office_free(day, start, dur) {
                        continue;
                    }
                    let newday = (!virt && st.pinp[p][day] == 0) as i64 * 20;
                    let cost = np + newday + frag + rng.below(3) as i64;
                    if best.as_ref().is_none_or(|(b, _)| cost < *b) {
                        best = Some((cost, (c, day as u8, start as u8, virt)));
                    }
                }
            }
        }
    }
    best.map(|x| x.1)
}

/// Greedy completion of the current partial schedule.
pub(crate) fn recreate(st: &mut State, site: &SiteC, stab: &Stability, rng: &mut Rng, knobs: Knobs, ones_first: bool) {
    if ones_first {
        place_ones(st, site, stab, rng);
    }
    fill_groups(st, site, stab, rng);
    let mut guard = 0;
    while open_best_group(st, site, stab, rng, knobs) {
        fill_groups(st, site, stab, rng);
        guard += 1;
        if guard > 10_000 {
            break;
        }
    }
    place_ones(st, site, stab, rng);
    fill_groups(st, site, stab, rng);
}

/// Remove a few related sessions.
pub(crate) fn ruin(st: &mut State, site: &SiteC, stab: &Stability, rng: &mut Rng) {
    let gids: Vec<u32> = st.alive_groups().collect();
    let kind = rng.below(100);
    if kind < 20 {
        // a few random groups
        let k = 1 + rng.below(2);
        for _ in 0..k {
            let gids: Vec<u32> = st.alive_groups().collect();
            if gids.is_empty() {
                break;
            }
            let g = gids[rng.below(gids.len())];
            st.remove_group(site, stab, g);
        }
    } else if kind < 48 {
        // around a patient who is short: free the times they could come on one day
        let short: Vec<usize> = (0..site.pats.len()).filter(|&p| st.short_of(site, p) > 0).collect();
        let p = if short.is_empty() { rng.below(site.pats.len()) } else { short[rng.below(short.len())] };
        let pc = &site.pats[p];
        let days: Vec<usize> = (0..6).filter(|&d| pc.avail[d] != 0).collect();
        if days.is_empty() {
            return;
        }
        let day = days[rng.below(days.len())];
        let win = pc.avail[day];
        // the patient's own sessions that day
        let own: Vec<u32> = gids
            .iter()
            .copied()
            .filter(|&g| st.groups[g as usize].day as usize == day && st.groups[g as usize].pats.contains(&(p as u16)))
            .collect();
        for g in own {
            if st.groups[g as usize].alive {
                st.remove_pat(site, stab, g, p as u16);
                if st.groups[g as usize].pats.len() < GROUP_MIN {
                    st.remove_group(site, stab, g);
                }
            }
        }
        let mut hits: Vec<u32> = st
            .alive_groups()
            .filter(|&g| {
                let gr = &st.groups[g as usize];
                gr.day as usize == day && mask(gr.start as u32, DUR[gr.typ as usize]) & win != 0
            })
            .collect();
        rng.shuffle(&mut hits);
        let k = 1 + rng.below(3);
        for g in hits.into_iter().take(k) {
            st.remove_group(site, stab, g);
        }
        let ones: Vec<u32> = st
            .alive_ones()
            .filter(|&o| {
                let x = &st.ones[o as usize];
                x.day as usize == day && (x.pat as usize == p || (rng.chance(1, 3) && mask(x.start as u32, DUR[x.typ as usize]) & win != 0))
            })
            .collect();
        for o in ones {
            st.remove_one(site, o);
        }
    } else if kind < 66 {
        // a few patients leave all their sessions
        let k = 2 + rng.below(5);
        for _ in 0..k {
            let p = rng.below(site.pats.len()) as u16;
            let gl: Vec<u32> = st.alive_groups().filter(|&g| st.groups[g as usize].pats.contains(&p)).collect();
            for g in gl {
                st.remove_pat(site, stab, g, p);
                if st.groups[g as usize].pats.len() < GROUP_MIN {
                    st.remove_group(site, stab, g);
                }
            }
            if rng.chance(1, 2) {
                let ol: Vec<u32> = st.alive_ones().filter(|&o| st.ones[o as usize].pat == p).collect();
                for o in ol {
                    st.remove_one(site, o);
                }
            }
        }
    } else if kind < 78 {
        // one clinician's day
        if site.clins.is_empty() {
            return;
        }
        let c = rng.below(site.clins.len()) as u16;
        let days: Vec<usize> = (0..6).filter(|&d| st.cbusy[c as usize][d] != 0).collect();
        if days.is_empty() {
            return;
        }
        let day = days[rng.below(days.len())] as u8;
        let gl: Vec<u32> = st.alive_groups().filter(|&g| st.groups[g as usize].clin == c && st.groups[g as usize].day == day).collect();
        for g in gl {
            st.remove_group(site, stab, g);
        }
        let ol: Vec<u32> = st.alive_ones().filter(|&o| st.ones[o as usize].clin == c && st.ones[o as usize].day == day).collect();
        for o in ol {
            st.remove_one(site, o);
        }
    } else if kind < 90 {
        // reshuffle one day's 1:1 sessions (and maybe one of its groups)
        let day = rng.below(6) as u8;
        let ol: Vec<u32> = st.alive_ones().filter(|&o| st.ones[o as usize].day == day).collect();
        for o in ol {
            if rng.chance(2, 3) {
                st.remove_one(site, o);
            }
        }
        let gl: Vec<u32> = st.alive_groups().filter(|&g| st.groups[g as usize].day == day).collect();
        if !gl.is_empty() && rng.chance(1, 2) {
            st.remove_group(site, stab, gl[rng.below(gl.len())]);
        }
    } else {
        // a time window of one day
        let day = rng.below(6);
        let a = rng.below(26) as u32;
        let len = 3 + rng.below(6) as u32;
        let win = mask(a, len.min(29 - a));
        let gl: Vec<u32> = st
            .alive_groups()
            .filter(|&g| {
                let gr = &st.groups[g as usize];
                gr.day as usize == day && mask(gr.start as u32, DUR[gr.typ as usize]) & win != 0
            })
            .collect();
        for g in gl {
            if rng.chance(2, 3) {
                st.remove_group(site, stab, g);
            }
        }
        let ol: Vec<u32> = st
            .alive_ones()
            .filter(|&o| {
                let x = &st.ones[o as usize];
                x.day as usize == day && mask(x.start as u32, DUR[x.typ as usize]) & win != 0
            })
            .collect();
        for o in ol {
            if rng.chance(1, 2) {
                st.remove_one(site, o);
            }
        }
    }
}

/// One search lane on one site.
#[derive(Debug, Clone)]
pub(crate) struct Lane {
    pub st: State,
    pub best: State,
    pub cur: i64,
    pub best_cost: i64,
    pub hist: Vec<i64>,
    pub iter: u64,
    pub rng: Rng,
    pub knobs: Knobs,
    pub started: bool,
}

const LAHC_LEN: usize = 64;

impl Lane {
    pub fn new(site: &SiteC, start: State, rng: Rng, knobs: Knobs) -> Self {
        Lane { best: start.clone(), st: start, cur: 0, best_cost: 0, hist: Vec::new(), iter: 0, rng, knobs, started: site.pats.is_empty() }
    }

    /// Construct (first call) and then run `iters` ruin-and-recreate iterations.
    pub fn run(&mut self, site: &SiteC, stab: &Stability, iters: u64) {
        if !self.started {
            self.started = true;
            recreate(&mut self.st, site, stab, &mut self.rng, Knobs { noise: 0 }, false);
            self.cur = self.st.cost(stab);
            self.best = self.st.clone();
            self.best_cost = self.cur;
            self.hist = vec![self.cur; LAHC_LEN];
        }
        if site.pats.is_empty() {
            return;
        }
        for _ in 0..iters {
            self.step(site, stab);
        }
    }

    fn step(&mut self, site: &SiteC, stab: &Stability) {
        self.st.begin();
        ruin(&mut self.st, site, stab, &mut self.rng);
        let ones_first = self.rng.chance(1, 4);
        recreate(&mut self.st, site, stab, &mut self.rng, self.knobs, ones_first);
        let c = self.st.cost(stab);
        let v = (self.iter % LAHC_LEN as u64) as usize;
        self.iter += 1;
        if c <= self.cur || c < self.hist[v] {
            self.st.commit();
            self.cur = c;
            if c < self.best_cost {
                self.best_cost = c;
                self.best = self.st.clone();
            }
        } else {
            self.st.undo(site, stab);
        }
        if self.cur < self.hist[v] {
            self.hist[v] = self.cur;
        }
    }

    /// Continue from another lane's best schedule.
    pub fn adopt(&mut self, other_best: &State, cost: i64) {
        self.st = other_best.clone();
        self.cur = cost;
        if cost < self.best_cost {
            self.best = other_best.clone();
            self.best_cost = cost;
        }
        for h in &mut self.hist {
            *h = cost;
        }
    }
}
