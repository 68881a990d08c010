//! Writes the DKG vector files under `vectors/<suite>/`:
//!
//! - `dkg-tessera-2of3.json`, `dkg-tessera-3of5.json`: runs of tessera's DKG and
//!   certification, generated from fixed seeds;
//! - with `--upstream DIR` (a folder holding `frost-ed25519/`, `frost-secp256k1/` and
//!   `frost-secp256k1-tr/`), also `dkg.json`: ZF FROST's `vectors_dkg.json` transcribed.
//!
//! `cargo run -p tessera-vectors --example gen-dkg [-- --upstream ../shared/vectors/rfc9591-zf]`

use std::{error::Error, path::PathBuf};

use tessera_core::Suite;
use tessera_vectors::{format::Document, generate_dkg_run, to_json, upstream};

fn main() -> Result<(), Box<dyn Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let upstream_dir = match args.as_slice() {
        [] => None,
        [flag, dir] if flag == "--upstream" => Some(PathBuf::from(dir)),
        _ => return Err("usage: gen-dkg [--upstream DIR]".into()),
    };
    for (index, (suite, zf_name)) in [
        (Suite::Ed25519, "frost-ed25519"),
        (Suite::Secp256k1, "frost-secp256k1"),
        (Suite::Taproot, "frost-secp256k1-tr"),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = root.join(suite.name());
        for (t, n) in [(2u16, 3u16), (3, 5)] {
            // One seed per suite and size: 1023, 1035, 2023, ...
            let seed = 1000 * (index as u64 + 1) + 10 * u64::from(t) + u64::from(n);
            let doc = generate_dkg_run(suite, t, n, seed)?;
            let path = dir.join(format!("dkg-tessera-{t}of{n}.json"));
            std::fs::write(&path, to_json(&doc)?)?;
            println!("wrote {}", path.display());
        }
        if let Some(up) = &upstream_dir {
            let file = up.join(zf_name).join("vectors_dkg.json");
            let value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file)?)?;
            let mut doc = upstream::convert(&file.display().to_string(), &value, Some(suite))?;
            if let Document::Dkg(v) = &mut doc {
                v.source = format!("ZF FROST {zf_name} tests/helpers/vectors_dkg.json");
            }
            let path = dir.join("dkg.json");
            std::fs::write(&path, to_json(&doc)?)?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}
