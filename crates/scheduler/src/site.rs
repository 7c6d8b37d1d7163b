//! Per-site compiled data: indices, availability bitmasks, credential and license bitsets.
//!
//! Nothing couples two sites (every session is single-site: H2), so each site is solved alone.

use std::collections::HashMap;

use crate::Error;
use crate::model::{DAYS, Instance, PatientMode, Population, RoomKind, SLOTS, credential_mask};

pub(crate) const GROUP_MAX: usize = 12;
pub(crate) const GROUP_MIN: usize = 3;
pub(crate) const NONE16: u16 = u16::MAX;

/// Slot mask of `dur` slots from `start`.
#[inline]
pub(crate) fn mask(start: u32, dur: u32) -> u32 {
    ((1u32 << dur) - 1) << start
}

pub(crate) fn windows_to_masks(w: &[[i64; 3]]) -> [u32; DAYS] {
    let mut m = [0u32; DAYS];
    for &[d, a, b] in w {
        if !(0..DAYS as i64).contains(&d) {
            continue;
        }
        for t in a.max(0)..b.min(SLOTS as i64) {
            m[d as usize] |= 1 << t;
        }
    }
    m
}

#[derive(Debug, Clone)]
pub(crate) struct PatC {
    pub gi: usize,
    pub avail: [u32; DAYS],
    pub adol: bool,
    /// Required countable half hours.
    pub req: i32,
    /// Max countable half hours.
    pub max: i32,
    pub inp: bool,
    pub virt: bool,
    pub home: u8,
    pub primary: u16,
    pub needs: [u8; 3],
}

#[derive(Debug, Clone)]
pub(crate) struct ClinC {
    pub gi: usize,
    pub avail: [u32; DAYS],
    /// Bit i: may lead `SessionType` i.
    pub lead: u8,
    pub lic: u128,
    /// Max half hours led.
    pub max: i32,
    /// Licensed in the site's state (in-person sessions allowed).
    pub inp_ok: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct SiteC {
    pub gi: usize,
    pub pats: Vec<PatC>,
    pub clins: Vec<ClinC>,
    /// Group rooms: (global room index, usable capacity = min(capacity, 12)), capacity >= 3 only.
    pub grooms: Vec<(usize, u8)>,
    /// Offices (global room indices); interchangeable.
    pub offices: Vec<usize>,
    /// Leaders per session type.
    pub leaders: [Vec<u16>; 5],
}

/// Global string interning of US states (licenses, home states).
pub(crate) struct States(HashMap<String, u8>);

impl States {
    fn id(&mut self, s: &str) -> Result<u8, Error> {
        if let Some(&i) = self.0.get(s) {
            return Ok(i);
        }
        let n = self.0.len();
        if n >= 128 {
            return Err(Error::Unsupported("more than 128 distinct states".into()));
        }
        self.0.insert(s.to_string(), n as u8);
        Ok(n as u8)
    }
}

pub(crate) fn compile(inst: &Instance) -> Result<Vec<SiteC>, Error> {
    let mut states = States(HashMap::new());
    let site_idx: HashMap<&str, usize> = inst.sites.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let mut sites: Vec<SiteC> = (0..inst.sites.len())
        .map(|gi| SiteC { gi, pats: Vec::new(), clins: Vec::new(), grooms: Vec::new(), offices: Vec::new(), leaders: Default::default() })
        .collect();
    let mut clin_local: HashMap<&str, (usize, u16)> = HashMap::new();
    for (gi, c) in inst.clinicians.iter().enumerate() {
        let Some(&s) = site_idx.get(c.site.as_str()) else {
            continue;
        };
        let mut lic = 0u128;
        for l in &c.licenses {
            lic |= 1u128 << states.id(l)?;
        }
        let site_state = states.id(&inst.sites[s].state)?;
        let lead = c.credentials.iter().fold(0u8, |m, x| m | credential_mask(x));
        let local = sites[s].clins.len() as u16;
        clin_local.insert(c.id.as_str(), (s, local));
        sites[s].clins.push(ClinC {
            gi,
            avail: windows_to_masks(&c.availability),
            lead,
            lic,
            max: (2.0 * c.max_hours).floor().max(0.0) as i32,
            inp_ok: lic & (1u128 << site_state) != 0,
        });
    }
    for (gi, r) in inst.rooms.iter().enumerate() {
        let Some(&s) = site_idx.get(r.site.as_str()) else {
            continue;
        };
        match r.kind {
            RoomKind::Office => sites[s].offices.push(gi),
            RoomKind::Group => {
                let cap = r.capacity.unwrap_or(0).min(GROUP_MAX as u32) as u8;
                if cap as usize >= GROUP_MIN {
                    sites[s].grooms.push((gi, cap));
                }
            }
        }
    }
    for (gi, p) in inst.patients.iter().enumerate() {
        let Some(&s) = site_idx.get(p.site.as_str()) else {
            continue;
        };
        let primary = match clin_local.get(p.primary.as_str()) {
            Some(&(cs, l)) if cs == s => l,
            _ => NONE16,
        };
        let cap = |x: u32| x.min(255) as u8;
        sites[s].pats.push(PatC {
            gi,
            avail: windows_to_masks(&p.availability),
            adol: p.population == Population::Adolescent,
            req: (2.0 * p.required_hours).ceil().max(0.0) as i32,
            max: (2.0 * p.max_hours).floor().max(0.0) as i32,
            inp: p.mode != PatientMode::Virtual,
            virt: p.mode != PatientMode::InPerson,
            home: states.id(&p.home_state)?,
            primary,
            needs: [cap(p.needs.individual), cap(p.needs.family), cap(p.needs.med_mgmt)],
        });
    }
    for s in &mut sites {
        if s.pats.len() >= NONE16 as usize || s.clins.len() >= NONE16 as usize {
            return Err(Error::Unsupported("more than 65,534 patients or clinicians at a site".into()));
        }
        // largest rooms last so that "smallest room that fits" is a forward scan
        s.grooms.sort_by_key(|&(gi, cap)| (cap, gi));
        for (ci, c) in s.clins.iter().enumerate() {
            for t in 0..5 {
                if c.lead & (1 << t) != 0 {
                    s.leaders[t].push(ci as u16);
                }
            }
        }
    }
    Ok(sites)
}
