//! Re-planning: start from the schedule in force, keep what is still valid, price changes.

use std::collections::HashMap;

use crate::model::{Instance, SessionMode, Solution};
use crate::site::{GROUP_MIN, NONE16, SiteC, mask};
use crate::state::{DUR, OrigSess, Stability, State};

struct Local {
    typ: u8,
    clin: u16,
    day: u8,
    start: u8,
    virt: bool,
    room: u16,
    pats: Vec<u16>,
}

/// Map the current schedule's sessions of `site` to site-local terms. `None` entries could not
/// be mapped (unknown ids, out-of-range times): they can only be changed.
fn locals(inst: &Instance, site: &SiteC, cur: &Solution) -> (i64, Vec<Local>) {
    let clin: HashMap<&str, u16> = site.clins.iter().enumerate().map(|(i, c)| (inst.clinicians[c.gi].id.as_str(), i as u16)).collect();
    let pat: HashMap<&str, u16> = site.pats.iter().enumerate().map(|(i, p)| (inst.patients[p.gi].id.as_str(), i as u16)).collect();
    let groom: HashMap<&str, u16> = site.grooms.iter().enumerate().map(|(i, r)| (inst.rooms[r.0].id.as_str(), i as u16)).collect();
    let site_id = &inst.sites[site.gi].id;
    let clin_site: HashMap<&str, &str> = inst.clinicians.iter().map(|c| (c.id.as_str(), c.site.as_str())).collect();
    let mut total = 0;
    let mut out = Vec::new();
    for s in &cur.sessions {
        if clin_site.get(s.clinician.as_str()) != Some(&site_id.as_str()) {
            continue;
        }
        total += 1;
        let Some(&c) = clin.get(s.clinician.as_str()) else {
            continue;
        };
        let typ = s.kind.index() as u8;
        if !(0..6).contains(&s.day) || s.start < 0 || s.start + DUR[typ as usize] as i64 > 29 {
            continue;
        }
        let virt = s.mode == SessionMode::Virtual;
        let room = if s.kind.is_group() && !virt {
            match s.room.as_deref().and_then(|r| groom.get(r)) {
                Some(&r) => r,
                None => continue,
            }
        } else {
            NONE16
        };
        let mut pats = Vec::new();
        for p in &s.patients {
            match pat.get(p.as_str()) {
                Some(&x) => pats.push(x),
                None => continue,
            }
        }
        pats.sort_unstable();
        pats.dedup();
        out.push(Local { typ, clin: c, day: s.day as u8, start: s.start as u8, virt, room, pats });
    }
    (total, out)
}

pub(crate) fn stabilities(inst: &Instance, sites: &[SiteC], cur: &Solution, weight: i64) -> Vec<Stability> {
    sites
        .iter()
        .map(|site| {
            let (total, ls) = locals(inst, site, cur);
            let mut st = Stability { weight: weight.max(0), total, ..Default::default() };
            for l in ls {
                let idx = st.sess.len() as u32;
                st.at.entry((l.clin, l.day, l.start)).or_insert(idx);
                st.sess.push(OrigSess { typ: l.typ, virt: l.virt, room: l.room, pats: l.pats });
            }
            st
        })
        .collect()
}

/// The current schedule's sessions that are still valid under the (changed) instance, added
/// one by one in their original order; a group keeps the attendees who can still come if
/// they are at least 3.
pub(crate) fn initial_state(inst: &Instance, site: &SiteC, stab: &Stability, cur: &Solution) -> State {
    let mut st = State::new(site);
    let (_, ls) = locals(inst, site, cur);
    for l in ls {
        let dur = DUR[l.typ as usize];
        let m = mask(l.start as u32, dur);
        let day = l.day as usize;
        let cu = l.clin as usize;
        let cl = &site.clins[cu];
        if cl.lead & (1 << l.typ) == 0 || !st.clin_free(site, cu, day, m, dur) || (!l.virt && !cl.inp_ok) {
            continue;
        }
        let pat_ok = |st: &State, p: usize| {
            let pc = &site.pats[p];
            let mode_ok = if l.virt { pc.virt && cl.lic & (1u128 << pc.home) != 0 } else { pc.inp };
            let hours_ok = l.typ == 4 || st.php[p] + dur as i32 <= pc.max;
            mode_ok && hours_ok && pc.avail[day] & m == m && st.pbusy[p][day] & m == 0
        };
        if l.typ < 2 {
            if !l.virt && st.rbusy[l.room as usize][day] & m != 0 {
                continue;
            }
            let Some(&first) = l.pats.first() else {
                continue;
            };
            let adol = site.pats[first as usize].adol;
            let keep: Vec<u16> = l
                .pats
                .iter()
                .copied()
                .filter(|&p| {
                    let pu = p as usize;
                    site.pats[pu].adol == adol && st.pgday[pu] & (1 << day) == 0 && pat_ok(&st, pu)
                })
                .collect();
            let cap = if l.virt { 12 } else { site.grooms[l.room as usize].1 as usize };
            if keep.len() < GROUP_MIN || keep.len() > cap {
                continue;
            }
            st.add_group(site, stab, l.typ, l.clin, l.day, l.start, l.virt, l.room, &keep);
        } else {
            let [p] = l.pats[..] else {
                continue;
            };
            let pu = p as usize;
            let k = (l.typ - 2) as usize;
            if st.pcnt[pu][k] >= site.pats[pu].needs[k] || !pat_ok(&st, pu) || (!l.virt && !st.office_free(day, l.start as u32, dur)) {
                continue;
            }
            st.add_one(site, stab, l.typ, p, l.clin, l.day, l.start, l.virt);
        }
    }
    st
}

/// (sessions of `cur` that appear unchanged in `new`, sessions of `cur`). Rooms of 1:1
/// sessions are ignored (offices are interchangeable).
pub(crate) fn count_kept(cur: &Solution, new: &Solution) -> (usize, usize) {
    let key = |s: &crate::model::Session| {
        let mut p = s.patients.clone();
        p.sort();
        let room = if s.kind.is_group() { s.room.clone() } else { None };
        (s.kind, s.clinician.clone(), s.day, s.start, s.mode, room, p)
    };
    let mut have: HashMap<_, usize> = HashMap::new();
    for s in &new.sessions {
        *have.entry(key(s)).or_default() += 1;
    }
    let mut kept = 0;
    for s in &cur.sessions {
        if let Some(n) = have.get_mut(&key(s))
            && *n > 0
        {
            *n -= 1;
            kept += 1;
        }
    }
    (kept, cur.sessions.len())
}
