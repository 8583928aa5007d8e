//! Everything rehearsal reads from outside, under libFuzzer: spec text (validated, and planned
//! against the fake production when valid) and plan files. The target itself is
//! `rehearsal::fuzz::inputs`, which `fuzz/seeded.rs` also runs on stable Rust.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rehearsal::fuzz::inputs(data);
});
