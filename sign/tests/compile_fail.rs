//! Nonces are not Clone, Copy or Serialize, and signing consumes them: a second use does not
//! compile. trybuild checks each case fails with the expected error.

#[test]
fn nonce_misuse_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
