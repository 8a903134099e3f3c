//! The committed gdb test guest (fixtures/gdb) is what its sources build to.

mod boot_support;

#[test]
fn committed_gdb_guest_matches_its_sources() {
    boot_support::assert_committed_build_matches(
        "gdb",
        &["boot.S", "guest.c", "guest.ld"],
        "guest.elf",
    );
}
