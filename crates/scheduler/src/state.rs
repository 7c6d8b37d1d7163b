//! Incremental schedule state of one site: occupancy bitmasks, tallies and the exact objective,
//! with an undo log so that a rejected move costs only its own operations.

use std::collections::HashMap;

use crate::check::{W_GROUP, W_INPERSON_DAY, W_NONPRIMARY, W_SHORT_HALF_HOUR, W_UNMET};
use crate::model::{DAYS, SLOTS};
use crate::site::{GROUP_MAX, SiteC, mask};

pub(crate) const DUR: [u32; 5] = [6, 3, 2, 2, 1];
pub(crate) const NONE32: u32 = u32::MAX;

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub typ: u8,
    pub clin: u16,
    pub day: u8,
    pub start: u8,
    pub virt: bool,
    /// Index into `SiteC::grooms` (NONE16 when virtual).
    pub room: u16,
    pub pats: Vec<u16>,
    pub alive: bool,
    /// Matching session of the current schedule (re-planning), or NONE32.
    pub orig: u32,
    /// How many of `pats` are in the matching original's patient list.
    pub orig_match: u16,
}

#[derive(Debug, Clone)]
pub(crate) struct One {
    pub typ: u8,
    pub pat: u16,
    pub clin: u16,
    pub day: u8,
    pub start: u8,
    pub virt: bool,
    pub alive: bool,
    pub orig: u32,
}

/// A session of the schedule being re-planned, in site-local terms.
#[derive(Debug, Clone)]
pub(crate) struct OrigSess {
    pub typ: u8,
    pub virt: bool,
    pub room: u16,
    /// Sorted patients.
    pub pats: Vec<u16>,
}

/// Re-planning data of one site: the current schedule and the price of changing it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stability {
    pub weight: i64,
    /// Sessions of the current schedule at this site (all of them, also those that can no
    /// longer be kept).
    pub total: i64,
    /// (clinician, day, start) -> index in `sess` (a clinician leads one session at a time).
    pub at: HashMap<(u16, u8, u8), u32>,
    pub sess: Vec<OrigSess>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    AddGroup(u32),
    RemoveGroup(u32),
    AddPat(u32, u16),
    RemovePat(u32, u16),
    AddOne(u32),
    RemoveOne(u32),
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    pub groups: Vec<Group>,
    pub ones: Vec<One>,
    /// Dead slots free for reuse (freed before the current logged move).
    gfree: Vec<u32>,
    ofree: Vec<u32>,
    /// Slots freed during the current logged move: not reused until it is committed, so that
    /// `undo` can revive them with their data intact.
    gfree_new: Vec<u32>,
    ofree_new: Vec<u32>,
    pub pbusy: Vec<[u32; DAYS]>,
    /// Bit d: the patient has a group on day d.
    pub pgday: Vec<u8>,
    /// Countable half hours.
    pub php: Vec<i32>,
    pub pcnt: Vec<[u8; 3]>,
    /// In-person sessions per day.
    pub pinp: Vec<[u8; DAYS]>,
    pub cbusy: Vec<[u32; DAYS]>,
    pub cload: Vec<i32>,
    pub rbusy: Vec<[u32; DAYS]>,
    pub office: [[u8; SLOTS]; DAYS],
    pub n_offices: u8,
    // objective tallies
    pub short: i64,
    pub unmet: i64,
    pub ngroups: i64,
    pub nonprim: i64,
    pub inpdays: i64,
    pub kept: i64,
    pub log: Vec<Op>,
    pub logging: bool,
}

impl State {
    pub fn new(site: &SiteC) -> Self {
        let np = site.pats.len();
        let nc = site.clins.len();
        State {
            groups: Vec::new(),
            ones: Vec::new(),
            gfree: Vec::new(),
            ofree: Vec::new(),
            gfree_new: Vec::new(),
            ofree_new: Vec::new(),
            pbusy: vec![[0; DAYS]; np],
            pgday: vec![0; np],
            php: vec![0; np],
            pcnt: vec![[0; 3]; np],
            pinp: vec![[0; DAYS]; np],
            cbusy: vec![[0; DAYS]; nc],
            cload: vec![0; nc],
            rbusy: vec![[0; DAYS]; site.grooms.len()],
            office: [[0; SLOTS]; DAYS],
            n_offices: site.offices.len().min(255) as u8,
            short: site.pats.iter().map(|p| p.req.max(0) as i64).sum(),
            unmet: site.pats.iter().map(|p| p.needs.iter().map(|&x| x as i64).sum::<i64>()).sum(),
            ngroups: 0,
            nonprim: 0,
            inpdays: 0,
            kept: 0,
            log: Vec::new(),
            logging: false,
        }
    }

    /// The exact objective (plus the re-planning penalty).
    pub fn cost(&self, stab: &Stability) -> i64 {
        self.objective() + stab.weight * (stab.total - self.kept)
    }

    pub fn objective(&self) -> i64 {
        W_SHORT_HALF_HOUR * self.short
            + W_UNMET * self.unmet
            + W_GROUP * self.ngroups
            + W_NONPRIMARY * self.nonprim
            + W_INPERSON_DAY * self.inpdays
    }

    #[inline]
    pub fn short_of(&self, site: &SiteC, p: usize) -> i32 {
        (site.pats[p].req - self.php[p]).max(0)
    }

    // ---------- feasibility ----------

    /// Clinician `c` can take `dur` more slots at `m` on `day` (availability, overlap, hours).
    #[inline]
    pub fn clin_free(&self, site: &SiteC, c: usize, day: usize, m: u32, dur: u32) -> bool {
        let cl = &site.clins[c];
        cl.avail[day] & m == m && self.cbusy[c][day] & m == 0 && self.cload[c] + dur as i32 <= cl.max
    }

    #[inline]
    pub fn office_free(&self, day: usize, start: u32, dur: u32) -> bool {
        (start..start + dur).all(|t| self.office[day][t as usize] < self.n_offices)
    }

    /// Patient `p` could attend group `g` (everything but the group's own size limit).
    pub fn can_join(&self, site: &SiteC, g: &Group, p: usize) -> bool {
        let pc = &site.pats[p];
        let dur = DUR[g.typ as usize];
        let day = g.day as usize;
        let m = mask(g.start as u32, dur);
        if pc.adol != site.pats[g.pats[0] as usize].adol {
            return false;
        }
        if g.virt {
            if !pc.virt || site.clins[g.clin as usize].lic & (1u128 << pc.home) == 0 {
                return false;
            }
        } else if !pc.inp {
            return false;
        }
        pc.avail[day] & m == m && self.pbusy[p][day] & m == 0 && self.pgday[p] & (1 << day) == 0 && self.php[p] + dur as i32 <= pc.max
    }

    #[inline]
    pub fn group_cap(&self, site: &SiteC, g: &Group) -> usize {
        if g.virt { GROUP_MAX } else { site.grooms[g.room as usize].1 as usize }
    }

    // ---------- tallies ----------

    #[allow(clippy::too_many_arguments)]
    fn pat_gain(&mut self, site: &SiteC, p: usize, typ: u8, day: usize, m: u32, virt: bool, sign: i32) {
        let pc = &site.pats[p];
        let dur = DUR[typ as usize] as i32;
        let before = (pc.req - self.php[p]).max(0) as i64;
        if sign > 0 {
            self.pbusy[p][day] |= m;
        } else {
            self.pbusy[p][day] &= !m;
        }
        if typ != 4 {
            self.php[p] += sign * dur;
        }
        self.short += (pc.req - self.php[p]).max(0) as i64 - before;
        if typ < 2 {
            if sign > 0 {
                self.pgday[p] |= 1 << day;
            } else {
                self.pgday[p] &= !(1 << day);
            }
        } else {
            let k = (typ - 2) as usize;
            let before = (pc.needs[k] as i64 - self.pcnt[p][k] as i64).max(0);
            self.pcnt[p][k] = (self.pcnt[p][k] as i32 + sign) as u8;
            self.unmet += (pc.needs[k] as i64 - self.pcnt[p][k] as i64).max(0) - before;
        }
        if !virt {
            let b = self.pinp[p][day];
            self.pinp[p][day] = (b as i32 + sign) as u8;
            if b == 0 && sign > 0 {
                self.inpdays += 1;
            } else if b == 1 && sign < 0 {
                self.inpdays -= 1;
            }
        }
    }

    fn clin_use(&mut self, c: usize, day: usize, m: u32, dur: u32, sign: i32) {
        if sign > 0 {
            self.cbusy[c][day] |= m;
        } else {
            self.cbusy[c][day] &= !m;
        }
        self.cload[c] += sign * dur as i32;
    }

    pub fn group_kept(g: &Group, stab: &Stability) -> bool {
        g.orig != NONE32 && {
            let o = &stab.sess[g.orig as usize];
            g.orig_match as usize == o.pats.len() && g.pats.len() == o.pats.len()
        }
    }

    // ---------- operations ----------

    /// Open a group (the caller checked feasibility). Returns its id.
    #[allow(clippy::too_many_arguments)]
    pub fn add_group(
        &mut self,
        site: &SiteC,
        stab: &Stability,
        typ: u8,
        clin: u16,
        day: u8,
        start: u8,
        virt: bool,
        room: u16,
        pats: &[u16],
    ) -> u32 {
        let dur = DUR[typ as usize];
        let m = mask(start as u32, dur);
        let d = day as usize;
        self.clin_use(clin as usize, d, m, dur, 1);
        if !virt {
            self.rbusy[room as usize][d] |= m;
        }
        for &p in pats {
            self.pat_gain(site, p as usize, typ, d, m, virt, 1);
        }
        self.ngroups += 1;
        let mut orig = NONE32;
        let mut orig_match = 0u16;
        if let Some(&o) = stab.at.get(&(clin, day, start)) {
            let os = &stab.sess[o as usize];
            if os.typ == typ && os.virt == virt && os.room == room {
                orig = o;
                orig_match = pats.iter().filter(|p| os.pats.binary_search(p).is_ok()).count() as u16;
            }
        }
        let g = Group { typ, clin, day, start, virt, room, pats: pats.to_vec(), alive: true, orig, orig_match };
        if Self::group_kept(&g, stab) {
            self.kept += 1;
        }
        let id = match self.gfree.pop() {
            Some(id) => {
                self.groups[id as usize] = g;
                id
            }
            None => {
                self.groups.push(g);
                (self.groups.len() - 1) as u32
            }
        };
        if self.logging {
            self.log.push(Op::AddGroup(id));
        }
        id
    }

    pub fn remove_group(&mut self, site: &SiteC, stab: &Stability, id: u32) {
        let g = &mut self.groups[id as usize];
        g.alive = false;
        let (typ, clin, day, start, virt, room) = (g.typ, g.clin, g.day, g.start, g.virt, g.room);
        let pats = std::mem::take(&mut g.pats);
        let dur = DUR[typ as usize];
        let m = mask(start as u32, dur);
        let d = day as usize;
        self.clin_use(clin as usize, d, m, dur, -1);
        if !virt {
            self.rbusy[room as usize][d] &= !m;
        }
        for &p in &pats {
            self.pat_gain(site, p as usize, typ, d, m, virt, -1);
        }
        self.ngroups -= 1;
        let g = &mut self.groups[id as usize];
        g.pats = pats;
        if Self::group_kept(g, stab) {
            self.kept -= 1;
        }
        if self.logging {
            self.gfree_new.push(id);
            self.log.push(Op::RemoveGroup(id));
        } else {
            self.gfree.push(id);
        }
    }

    /// Re-open a removed group under its old id (undo of `remove_group`).
    fn revive_group(&mut self, site: &SiteC, stab: &Stability, id: u32) {
        let g = &mut self.groups[id as usize];
        g.alive = true;
        let (typ, clin, day, start, virt, room) = (g.typ, g.clin, g.day, g.start, g.virt, g.room);
        let pats = std::mem::take(&mut g.pats);
        let dur = DUR[typ as usize];
        let m = mask(start as u32, dur);
        let d = day as usize;
        self.clin_use(clin as usize, d, m, dur, 1);
        if !virt {
            self.rbusy[room as usize][d] |= m;
        }
        for &p in &pats {
            self.pat_gain(site, p as usize, typ, d, m, virt, 1);
        }
        self.ngroups += 1;
        let g = &mut self.groups[id as usize];
        g.pats = pats;
        if Self::group_kept(g, stab) {
            self.kept += 1;
        }
    }

    pub fn add_pat(&mut self, site: &SiteC, stab: &Stability, id: u32, p: u16) {
        let g = &self.groups[id as usize];
        let was = Self::group_kept(g, stab);
        let (typ, day, start, virt) = (g.typ, g.day as usize, g.start as u32, g.virt);
        let m = mask(start, DUR[typ as usize]);
        self.pat_gain(site, p as usize, typ, day, m, virt, 1);
        let g = &mut self.groups[id as usize];
        g.pats.push(p);
        if g.orig != NONE32 && stab.sess[g.orig as usize].pats.binary_search(&p).is_ok() {
            g.orig_match += 1;
        }
        let now = Self::group_kept(g, stab);
        self.kept += now as i64 - was as i64;
        if self.logging {
            self.log.push(Op::AddPat(id, p));
        }
    }

    pub fn remove_pat(&mut self, site: &SiteC, stab: &Stability, id: u32, p: u16) {
        let g = &mut self.groups[id as usize];
        let was = Self::group_kept(g, stab);
        let Some(pos) = g.pats.iter().position(|&x| x == p) else {
            return;
        };
        g.pats.swap_remove(pos);
        if g.orig != NONE32 && stab.sess[g.orig as usize].pats.binary_search(&p).is_ok() {
            g.orig_match -= 1;
        }
        let now = Self::group_kept(g, stab);
        let (typ, day, start, virt) = (g.typ, g.day as usize, g.start as u32, g.virt);
        self.kept += now as i64 - was as i64;
        let m = mask(start, DUR[typ as usize]);
        self.pat_gain(site, p as usize, typ, day, m, virt, -1);
        if self.logging {
            self.log.push(Op::RemovePat(id, p));
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn add_one(&mut self, site: &SiteC, stab: &Stability, typ: u8, pat: u16, clin: u16, day: u8, start: u8, virt: bool) -> u32 {
        let mut orig = NONE32;
        if let Some(&o) = stab.at.get(&(clin, day, start)) {
            let os = &stab.sess[o as usize];
            if os.typ == typ && os.virt == virt && os.pats.len() == 1 && os.pats[0] == pat {
                orig = o;
            }
        }
        let o = One { typ, pat, clin, day, start, virt, alive: true, orig };
        let id = match self.ofree.pop() {
            Some(id) => {
                self.ones[id as usize] = o;
                id
            }
            None => {
                self.ones.push(o);
                (self.ones.len() - 1) as u32
            }
        };
        self.apply_one(site, id, 1);
        if self.logging {
            self.log.push(Op::AddOne(id));
        }
        id
    }

    fn apply_one(&mut self, site: &SiteC, id: u32, sign: i32) {
        let o = &self.ones[id as usize];
        let (typ, pat, clin, day, start, virt, orig) = (o.typ, o.pat, o.clin, o.day as usize, o.start as u32, o.virt, o.orig);
        let dur = DUR[typ as usize];
        let m = mask(start, dur);
        self.clin_use(clin as usize, day, m, dur, sign);
        self.pat_gain(site, pat as usize, typ, day, m, virt, sign);
        if !virt {
            for t in start..start + dur {
                let x = &mut self.office[day][t as usize];
                *x = (*x as i32 + sign) as u8;
            }
        }
        if typ == 2 && site.pats[pat as usize].primary != clin {
            self.nonprim += sign as i64;
        }
        if orig != NONE32 {
            self.kept += sign as i64;
        }
    }

    pub fn remove_one(&mut self, site: &SiteC, id: u32) {
        self.apply_one(site, id, -1);
        self.ones[id as usize].alive = false;
        if self.logging {
            self.ofree_new.push(id);
            self.log.push(Op::RemoveOne(id));
        } else {
            self.ofree.push(id);
        }
    }

    fn revive_one(&mut self, site: &SiteC, id: u32) {
        self.ones[id as usize].alive = true;
        self.apply_one(site, id, 1);
    }

    /// Start recording operations for `undo`.
    pub fn begin(&mut self) {
        self.log.clear();
        self.logging = true;
    }

    pub fn commit(&mut self) {
        self.log.clear();
        self.logging = false;
        self.gfree.append(&mut self.gfree_new);
        self.ofree.append(&mut self.ofree_new);
    }

    /// Revert every operation since `begin`.
    pub fn undo(&mut self, site: &SiteC, stab: &Stability) {
        self.logging = false;
        let log = std::mem::take(&mut self.log);
        for op in log.iter().rev() {
            match *op {
                Op::AddGroup(id) => self.remove_group(site, stab, id),
                Op::RemoveGroup(id) => self.revive_group(site, stab, id),
                Op::AddPat(id, p) => self.remove_pat(site, stab, id, p),
                Op::RemovePat(id, p) => self.add_pat(site, stab, id, p),
                Op::AddOne(id) => self.remove_one(site, id),
                Op::RemoveOne(id) => self.revive_one(site, id),
            }
        }
        self.log = log;
        self.log.clear();
        // free lists = exactly the dead slots
        self.gfree_new.clear();
        self.ofree_new.clear();
        self.gfree.clear();
        self.gfree.extend((0..self.groups.len() as u32).filter(|&i| !self.groups[i as usize].alive));
        self.ofree.clear();
        self.ofree.extend((0..self.ones.len() as u32).filter(|&i| !self.ones[i as usize].alive));
    }

    pub fn alive_groups(&self) -> impl Iterator<Item = u32> + '_ {
        self.groups.iter().enumerate().filter(|(_, g)| g.alive).map(|(i, _)| i as u32)
    }

    pub fn alive_ones(&self) -> impl Iterator<Item = u32> + '_ {
        self.ones.iter().enumerate().filter(|(_, o)| o.alive).map(|(i, _)| i as u32)
    }
}
