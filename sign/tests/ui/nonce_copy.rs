use tessera_core::Ed25519;
use tessera_sign::SigningNonces;

fn assert_copy<T: Copy>() {}

fn main() {
    assert_copy::<SigningNonces<Ed25519>>();
}
