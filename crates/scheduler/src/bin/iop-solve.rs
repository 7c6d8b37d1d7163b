//! Dev CLI: `iop-solve INSTANCE.json -o SOLUTION.json [--time-limit S] [--seed N]
//! [--iterations N] [--threads N] [--current SOLUTION.json] [--stability W] [--explain]`

use std::process::ExitCode;
use std::time::Duration;

use openiop_scheduler::{SolveOptions, parse_instance, parse_solution, solve, write_solution};

const USAGE: &str = "usage: iop-solve INSTANCE.json -o SOLUTION.json [--time-limit S] [--seed N] \
[--iterations N] [--threads N] [--current SOLUTION.json] [--stability W] [--explain]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("iop-solve: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let t0 = std::time::Instant::now();
    let mut args = std::env::args().skip(1);
    let mut input = None;
    let mut output = None;
    let mut current = None;
    let mut explain = false;
    let mut opts = SolveOptions::default();
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match a.as_str() {
            "-o" | "--output" => output = Some(val("-o")?),
            "--time-limit" => {
                let s: f64 = val("--time-limit")?.parse().map_err(|e| format!("--time-limit: {e}"))?;
                if !(s.is_finite() && s >= 0.0) {
                    return Err("--time-limit must be a non-negative number".into());
                }
                opts.time_limit = Duration::from_secs_f64(s);
            }
            "--seed" => opts.seed = val("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--iterations" => opts.iterations = Some(val("--iterations")?.parse().map_err(|e| format!("--iterations: {e}"))?),
            "--threads" => opts.threads = val("--threads")?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--current" => current = Some(val("--current")?),
            "--stability" => opts.stability_weight = val("--stability")?.parse().map_err(|e| format!("--stability: {e}"))?,
            "--explain" => explain = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ if a.starts_with('-') => return Err(format!("unknown option {a}\n{USAGE}")),
            _ => input = Some(a),
        }
    }
    let input = input.ok_or(USAGE)?;
    let output = output.ok_or(USAGE)?;
    let text = std::fs::read_to_string(&input).map_err(|e| format!("{input}: {e}"))?;
    let inst = parse_instance(&text).map_err(|e| format!("{input}: {e}"))?;
    if let Some(c) = current {
        let t = std::fs::read_to_string(&c).map_err(|e| format!("{c}: {e}"))?;
        opts.current = Some(parse_solution(&t).map_err(|e| format!("{c}: {e}"))?);
    }
    // the time limit covers the whole process: parsing counts, and writing the output
    // (about 1 µs a session) is budgeted for
    let writing = Duration::from_micros(50 * inst.patients.len() as u64);
    opts.time_limit = opts.time_limit.saturating_sub(t0.elapsed() + writing);
    let res = solve(&inst, &opts).map_err(|e| e.to_string())?;
    let mut sol = res.solution;
    if let serde_json::Value::Object(m) = &mut sol.stats {
        m.insert("explanations".into(), serde_json::to_value(&res.explanations).map_err(|e| e.to_string())?);
    }
    let json = write_solution(&sol).map_err(|e| e.to_string())?;
    std::fs::write(&output, json).map_err(|e| format!("{output}: {e}"))?;
    let o = res.stats.objective;
    println!(
        "objective {} (short {} h, unmet {}, groups {}, not primary {}, in-person days {})  sessions {}  epochs {}  wall {:.2} s",
        o.total,
        o.shortfall_half_hours as f64 / 2.0,
        o.unmet_needs,
        o.groups,
        o.not_primary,
        o.in_person_days,
        sol.sessions.len(),
        res.stats.epochs,
        res.stats.wall_seconds
    );
    if explain {
        for e in &res.explanations {
            println!("{} ({} / {} h):", e.patient, e.hours, e.required_hours);
            for r in &e.reasons {
                println!("  - {r}");
            }
        }
    }
    Ok(())
}
