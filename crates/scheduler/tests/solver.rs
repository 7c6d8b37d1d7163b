//! Integration tests: format examples, the hard-rule checker, determinism, re-planning and
//! explanations.

use std::time::Duration;

use openiop_scheduler::model::{Instance, SessionType, Solution};
use openiop_scheduler::{SolveOptions, parse_instance, parse_solution, solve, solve_json, validate};

fn data(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn inst(name: &str) -> Instance {
    parse_instance(&data(name)).expect("instance parses")
}

fn fixed(iterations: u64, threads: usize, seed: u64) -> SolveOptions {
    SolveOptions { time_limit: Duration::from_secs(60), seed, threads, iterations: Some(iterations), ..Default::default() }
}

#[test]
fn micro_examples_validate_like_the_kit() {
    let micro = inst("micro.json");
    let (v, obj) = validate(&micro, &parse_solution(&data("micro-solution.json")).unwrap());
    assert!(v.is_empty(), "{v:?}");
    assert_eq!(obj.total, 3135);
    assert_eq!(obj.shortfall_half_hours, 6);
    assert_eq!(obj.unmet_needs, 1);
    assert_eq!(obj.groups, 2);
    assert_eq!(obj.not_primary, 1);
    assert_eq!(obj.in_person_days, 7);
    let (v, obj) = validate(&micro, &parse_solution(&data("micro-optimal.json")).unwrap());
    assert!(v.is_empty(), "{v:?}");
    assert_eq!(obj.total, 2134);
}

#[test]
fn checker_reports_the_documented_breaches() {
    // FORMAT.md §7: had X5 been C03 with P3 -> H13 and H16
    let micro = inst("micro.json");
    let mut sol = parse_solution(&data("micro-solution.json")).unwrap();
    for s in &mut sol.sessions {
        if s.id == "X5" {
            s.clinician = "S01-C03".into();
            s.patients = vec!["S01-P3".into()];
        }
    }
    let (v, _) = validate(&micro, &sol);
    let codes: Vec<&str> = v.iter().map(|x| x.code).collect();
    assert_eq!(codes, vec!["H13", "H16"], "{v:?}");
    assert!(v[0].message.contains("not licensed in NY"));

    // more breaches: overlap, capacity, credentials, group size
    let mut sol = parse_solution(&data("micro-solution.json")).unwrap();
    sol.sessions[1].day = 0; // X2 onto Monday: P1..P3 overlap X1, C01 overlaps, G1 overlaps, 2 groups a day
    sol.sessions[5].clinician = "S01-C01".into(); // med_mgmt by an LCSW (and outside C01's hours)
    let (v, _) = validate(&micro, &sol);
    for code in ["H3", "H7", "H8", "H9", "H10", "H15"] {
        assert!(v.iter().any(|x| x.code == code), "missing {code}: {v:?}");
    }
    let mut sol = parse_solution(&data("micro-solution.json")).unwrap();
    sol.sessions[1].patients.truncate(2);
    let (v, _) = validate(&micro, &sol);
    assert!(v.iter().any(|x| x.code == "H4"), "{v:?}");
}

#[test]
fn solves_micro_to_the_proven_optimum() {
    let micro = inst("micro.json");
    let res = solve(&micro, &fixed(200, 2, 1)).unwrap();
    let (v, obj) = validate(&micro, &res.solution);
    assert!(v.is_empty(), "{v:?}");
    assert_eq!(obj.total, res.stats.objective.total);
    assert_eq!(obj.total, 2134, "micro optimum is 2134");
}

#[test]
fn tiny_and_small_are_valid_and_good() {
    let tiny = inst("tiny-1.json");
    let res = solve(&tiny, &fixed(100, 2, 1)).unwrap();
    let (v, obj) = validate(&tiny, &res.solution);
    assert!(v.is_empty(), "{v:?}");
    // CP-SAT proves 13086 optimal on tiny-1
    assert!(obj.total <= 13_100, "tiny-1 objective {}", obj.total);
    let small = inst("small-1.json");
    let res = solve(&small, &fixed(40, 2, 1)).unwrap();
    let (v, obj) = validate(&small, &res.solution);
    assert!(v.is_empty(), "{v:?}");
    assert!(obj.total < 15_760, "small-1 objective {} not below greedy", obj.total);
}

#[test]
fn fixed_iterations_are_bit_identical_across_runs_and_threads() {
    let small = data("small-1.json");
    let a = solve_json(&small, &fixed(30, 1, 7)).unwrap();
    let b = solve_json(&small, &fixed(30, 2, 7)).unwrap();
    let c = solve_json(&small, &fixed(30, 3, 7)).unwrap();
    // wall time is the only stat allowed to differ
    let strip = |s: &str| {
        let mut sol: Solution = serde_json::from_str(s).unwrap();
        if let serde_json::Value::Object(m) = &mut sol.stats {
            m.remove("wall_seconds");
            m.remove("threads");
        }
        serde_json::to_string(&sol).unwrap()
    };
    assert_eq!(strip(&a), strip(&b));
    assert_eq!(strip(&a), strip(&c));
    let d = solve_json(&small, &fixed(30, 2, 8)).unwrap();
    let parsed: Solution = serde_json::from_str(&d).unwrap();
    assert!(!parsed.sessions.is_empty());
}

#[test]
fn replan_after_a_clinician_drops_a_day_keeps_everything_else() {
    let small = inst("small-1.json");
    let before = solve(&small, &fixed(40, 2, 3)).unwrap().solution;
    // the clinician leading the most sessions on one day loses that day
    let mut best = (0, String::new(), 0i64);
    for c in &small.clinicians {
        for d in 0..6 {
            let n = before.sessions.iter().filter(|s| s.clinician == c.id && s.day == d).count();
            if n > best.0 {
                best = (n, c.id.clone(), d);
            }
        }
    }
    let (n, cid, day) = best;
    assert!(n > 0);
    let mut changed = small.clone();
    for c in &mut changed.clinicians {
        if c.id == cid {
            c.availability.retain(|w| w[0] != day);
        }
    }
    let opts = SolveOptions { current: Some(before.clone()), stability_weight: 100_000, ..fixed(40, 2, 3) };
    let res = solve(&changed, &opts).unwrap();
    let (v, _) = validate(&changed, &res.solution);
    assert!(v.is_empty(), "{v:?}");
    let key = |s: &openiop_scheduler::Session| {
        let mut p = s.patients.clone();
        p.sort();
        let room = if s.kind.is_group() { s.room.clone() } else { None };
        (s.kind, s.clinician.clone(), s.day, s.start, s.mode, room, p)
    };
    let after: std::collections::HashSet<_> = res.solution.sessions.iter().map(key).collect();
    let mut lost_other = Vec::new();
    for s in &before.sessions {
        let affected = s.clinician == cid && s.day == day;
        if !affected && !after.contains(&key(s)) {
            lost_other.push(s.id.clone());
        }
        if affected {
            assert!(!after.contains(&key(s)), "session {} should have moved", s.id);
        }
    }
    assert!(lost_other.is_empty(), "unaffected sessions changed: {lost_other:?}");
    let (kept, total) = res.stats.kept_sessions.unwrap();
    assert_eq!(total, before.sessions.len());
    assert_eq!(kept, total - n);

    // with the default weight the re-plan may trade a few changes for hours, but stays close
    let opts = SolveOptions { current: Some(before.clone()), ..fixed(40, 2, 3) };
    let res = solve(&changed, &opts).unwrap();
    let (kept, total) = res.stats.kept_sessions.unwrap();
    assert!(kept * 10 >= total * 7, "kept only {kept} of {total}");
}

fn window_instance() -> Instance {
    let json = r#"{"format": "iop-week/1", "name": "explain", "sites": [{"id": "S01", "state": "NJ"}],
     "rooms": [{"id": "S01-G1", "site": "S01", "kind": "group", "capacity": 12},
               {"id": "S01-O1", "site": "S01", "kind": "office"}],
     "clinicians": [
       {"id": "S01-C01", "site": "S01", "credentials": ["LCSW"], "licenses": ["NJ"], "max_hours": 30,
        "availability": [[0, 0, 29], [1, 0, 29], [2, 0, 29], [3, 0, 29], [4, 0, 29]]},
       {"id": "S01-C02", "site": "S01", "credentials": ["NP"], "licenses": ["NJ"], "max_hours": 10,
        "availability": [[0, 0, 8]]}],
     "patients": [
       {"id": "S01-P1", "site": "S01", "population": "adult", "required_hours": 9, "max_hours": 12,
        "mode": "either", "home_state": "NJ", "primary": "S01-C01",
        "needs": {"individual": 1, "family": 0, "med_mgmt": 0},
        "availability": [[0, 0, 29], [1, 0, 29], [2, 0, 29], [3, 0, 29], [4, 0, 29]]},
       {"id": "S01-P2", "site": "S01", "population": "adult", "required_hours": 9, "max_hours": 12,
        "mode": "either", "home_state": "NJ", "primary": "S01-C01",
        "needs": {"individual": 1, "family": 0, "med_mgmt": 0},
        "availability": [[0, 0, 29], [1, 0, 29], [2, 0, 29], [3, 0, 29], [4, 0, 29]]},
       {"id": "S01-P3", "site": "S01", "population": "adult", "required_hours": 9, "max_hours": 12,
        "mode": "either", "home_state": "NJ", "primary": "S01-C01",
        "needs": {"individual": 1, "family": 0, "med_mgmt": 0},
        "availability": [[0, 0, 29], [1, 0, 29], [2, 0, 29], [3, 0, 29], [4, 0, 29]]},
       {"id": "S01-P4", "site": "S01", "population": "adult", "required_hours": 9, "max_hours": 12,
        "mode": "either", "home_state": "NJ", "primary": "S01-C01",
        "needs": {"individual": 1, "family": 0, "med_mgmt": 0},
        "availability": [[1, 20, 24], [3, 20, 24]]},
       {"id": "S01-P5", "site": "S01", "population": "adult", "required_hours": 9, "max_hours": 12,
        "mode": "virtual", "home_state": "NY", "primary": "S01-C01",
        "needs": {"individual": 1, "family": 0, "med_mgmt": 0},
        "availability": [[0, 0, 29], [1, 0, 29], [2, 0, 29], [3, 0, 29], [4, 0, 29]]},
       {"id": "S01-P6", "site": "S01", "population": "adult", "required_hours": 9, "max_hours": 12,
        "mode": "either", "home_state": "NJ", "primary": "S01-C01",
        "needs": {"individual": 1, "family": 0, "med_mgmt": 1},
        "availability": [[1, 0, 29], [2, 0, 29], [3, 0, 29], [4, 0, 29]]}]}"#;
    parse_instance(json).expect("test instance parses")
}

#[test]
fn explanations_name_the_real_obstacle() {
    let inst = window_instance();
    let res = solve(&inst, &fixed(50, 1, 1)).unwrap();
    let (v, _) = validate(&inst, &res.solution);
    assert!(v.is_empty(), "{v:?}");
    let find = |id: &str| {
        res.explanations.iter().find(|e| e.patient == id).unwrap_or_else(|| panic!("no explanation for {id}: {:?}", res.explanations))
    };
    // P4: Tue/Thu 17:00-19:00 only -> at most 2 x 1.5 h of groups + 1 h individual
    let p4 = find("S01-P4");
    let text = p4.reasons.join(" | ");
    assert!(text.contains("allow at most 3 h of groups"), "{text}");
    assert!(text.contains("Tue/Thu 17:00–19:00"), "{text}");
    // P5: virtual only from NY, nobody holds a NY license
    let p5 = find("S01-P5");
    let text = p5.reasons.join(" | ");
    assert!(text.contains("licensed in NY"), "{text}");
    assert_eq!(p5.hours, 0.0);
    // P6: needs med management, the only prescriber works Monday mornings, P6 never comes Monday
    let p6 = find("S01-P6");
    assert!(p6.missing.iter().any(|(t, n)| t == SessionType::MedMgmt.name() && *n == 1));
    let text = p6.reasons.join(" | ");
    assert!(text.contains("no prescriber (MD/NP)") && text.contains("on shift during their windows"), "{text}");
    // fully served patients get no explanation
    assert!(res.explanations.iter().all(|e| e.patient != "S01-P1" || !e.reasons.is_empty()));
}

#[test]
fn time_limit_mode_returns_a_valid_schedule_in_time() {
    let small = inst("small-1.json");
    let opts = SolveOptions { time_limit: Duration::from_millis(300), ..Default::default() };
    let t0 = std::time::Instant::now();
    let res = solve(&small, &opts).unwrap();
    assert!(t0.elapsed() < Duration::from_millis(1500), "took {:?}", t0.elapsed());
    let (v, obj) = validate(&small, &res.solution);
    assert!(v.is_empty(), "{v:?}");
    assert_eq!(obj, res.stats.objective);
    assert_eq!(res.stats.repaired_sessions, 0);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let opts = fixed(1, 1, 1);
    assert!(solve_json("{", &opts).is_err());
    assert!(solve_json(r#"{"format": "iop-week/2", "sites": [], "rooms": [], "clinicians": [], "patients": []}"#, &opts).is_err());
    // duplicate ids are ambiguous -> error
    let dup = data("micro.json").replace("\"id\": \"S01-P2\"", "\"id\": \"S01-P1\"");
    assert!(solve_json(&dup, &opts).is_err());
    // a broken invariant (primary unknown, clinician without the site's license) is worked
    // around and reported, and the schedule is still valid
    let odd = data("micro.json")
        .replace("\"primary\": \"S01-C03\"", "\"primary\": \"S09-C99\"")
        .replace("\"licenses\": [\"NJ\", \"NY\"]", "\"licenses\": [\"NY\"]");
    let odd_inst = parse_instance(&odd).unwrap();
    let res = solve(&odd_inst, &opts).unwrap();
    assert_eq!(res.stats.instance_warnings.len(), 2, "{:?}", res.stats.instance_warnings);
    let (v, _) = validate(&odd_inst, &res.solution);
    assert!(v.is_empty(), "{v:?}");
    // an empty instance solves to an empty schedule
    let empty = r#"{"format": "iop-week/1", "name": "e", "sites": [], "rooms": [], "clinicians": [], "patients": []}"#;
    let out: Solution = serde_json::from_str(&solve_json(empty, &opts).unwrap()).unwrap();
    assert!(out.sessions.is_empty());
}

#[test]
fn incremental_objective_matches_the_independent_checker() {
    for (name, iters) in [("small-1.json", 60), ("iop-2.json", 12)] {
        let inst = inst(name);
        for seed in [1, 2] {
            let res = solve(&inst, &fixed(iters, 2, seed)).unwrap();
            let (v, obj) = validate(&inst, &res.solution);
            assert!(v.is_empty(), "{name}: {v:?}");
            assert_eq!(res.stats.repaired_sessions, 0, "{name}");
            assert_eq!(res.stats.search_objective, obj.total, "{name} seed {seed}");
        }
    }
}

#[test]
fn replan_after_a_patient_changes_windows_only_touches_their_sessions() {
    let small = inst("small-1.json");
    let before = solve(&small, &fixed(40, 2, 5)).unwrap().solution;
    // the patient with the most sessions now only has Saturday mornings
    let mut count = std::collections::BTreeMap::new();
    for s in &before.sessions {
        for p in &s.patients {
            *count.entry(p.clone()).or_insert(0) += 1;
        }
    }
    let pid = count.iter().max_by_key(|(id, n)| (**n, std::cmp::Reverse((*id).clone()))).map(|(id, _)| id.clone()).unwrap();
    let mut changed = small.clone();
    for p in &mut changed.patients {
        if p.id == pid {
            p.availability = vec![[5, 2, 10]];
        }
    }
    let opts = SolveOptions { current: Some(before.clone()), stability_weight: 100_000, ..fixed(40, 2, 5) };
    let res = solve(&changed, &opts).unwrap();
    let (v, _) = validate(&changed, &res.solution);
    assert!(v.is_empty(), "{v:?}");
    let key = |s: &openiop_scheduler::Session| {
        let mut p = s.patients.clone();
        p.sort();
        (s.kind, s.clinician.clone(), s.day, s.start, s.mode, p)
    };
    let after: std::collections::HashSet<_> = res.solution.sessions.iter().map(key).collect();
    for s in &before.sessions {
        if !s.patients.contains(&pid) {
            assert!(after.contains(&key(s)), "session {} without {pid} changed", s.id);
        }
    }
    // groups they attended keep running without them when at least 3 others remain
    for s in before.sessions.iter().filter(|s| s.kind.is_group() && s.patients.contains(&pid) && s.patients.len() > 3) {
        let rest: Vec<String> = s.patients.iter().filter(|p| **p != pid).cloned().collect();
        let mut k = key(s);
        k.5 = rest;
        assert!(after.contains(&k), "group {} should continue without {pid}", s.id);
    }
}
