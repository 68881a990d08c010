//! Replays the checked-in fuzz corpus (`fuzz/corpus/<target>/`) through every target on
//! stable: each input that once mattered (a seed, or a crash found and fixed) must run
//! without a panic. The corpus must be there: a target without one fails.

use std::path::Path;

#[test]
fn every_corpus_input_runs_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (name, target) in tessera_fuzz_targets::TARGETS {
        let dir = root.join(name);
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        inputs.sort();
        assert!(!inputs.is_empty(), "{name}: no corpus");
        for input in inputs {
            target(&std::fs::read(&input).unwrap());
        }
    }
}
