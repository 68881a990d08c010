//! `tessera log`: the sessions this device took part in or refused (design §6), and a check of
//! the log's hash chain.

use serde_json::json;

use super::{Context, Failure};
use crate::{
    device::audit,
    output::{Output, FAILED},
};

/// Arguments of `tessera log`.
#[derive(clap::Args)]
pub struct Args {
    /// Only the sessions of this key.
    #[arg(long)]
    key: Option<String>,
    /// Check the hash chain and name the first bad line (exit 1 if there is one).
    #[arg(long)]
    verify: bool,
}

/// Runs `tessera log`.
pub fn run(args: &Args, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let home = ctx.home()?;
    if args.verify {
        return match audit::verify(home.root())? {
            Ok(n) => {
                out.line(
                    || format!("the log is intact: {n} entries"),
                    || json!({ "intact": true, "entries": n }),
                );
                Ok(())
            }
            Err(broken) => Err(Failure {
                code: FAILED,
                message: format!("the log is broken: {broken}"),
            }),
        };
    }
    let entries: Vec<audit::Entry> = audit::read(home.root())?
        .into_iter()
        .filter(|e| args.key.is_none() || e.record.key == args.key)
        .collect();
    if out.json {
        for e in &entries {
            println!("{}", json!(e));
        }
        return Ok(());
    }
    for e in &entries {
        let r = &e.record;
        println!(
            "{}  {}  {}  epoch {}  {:?}  {}{}",
            utc(r.time),
            r.protocol,
            r.key.as_deref().unwrap_or("-"),
            r.epoch,
            r.decision,
            r.result,
            r.message_sha256
                .as_ref()
                .map(|h| format!("  message sha256 {h}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of Unix seconds (Howard Hinnant's civil-from-days).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(super::utc(1_796_517_296), "2026-12-06 00:34:56");
    }
}
