//! No input makes rehearsal panic. A seeded, deterministic mutational fuzzer, run by `make test`
//! on stable Rust: it damages the corpus (the shipped specs, saved plans, and the seeds in
//! `fuzz/seeds/`) by byte flips, insertions, deletions, splices of other entries, and edits
//! that know TOML and JSON (lines duplicated or swapped, values replaced with extremes), and
//! runs every damaged input through `rehearsal::fuzz::inputs`, the target `make fuzz` runs
//! under libFuzzer. A panic fails the test and prints the input, which is also saved to
//! `$CARGO_TARGET_DIR/fuzz-failures/`.
//!
//! `FUZZ_INPUTS=N` changes how many inputs are tried (default [`DEFAULT_INPUTS`], about 25 s on
//! two cores), `FUZZ_SEED=S` which ones. Input `i` depends only on the seed, `i` and the corpus,
//! never on timing or the number of threads: `FUZZ_ONLY=i` runs that one input again.
//!
//! The regression tests below are inputs a fuzzer once found to panic.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rehearsal::fuzz;

const DEFAULT_INPUTS: usize = 15_000;
const DEFAULT_SEED: u64 = 0x5EED_2026_1123;
/// Damaged inputs are cut here: longer ones take time and find nothing more.
const MAX_LEN: usize = 64 * 1024;

#[test]
fn no_input_makes_rehearsal_panic() {
    let corpus = corpus();
    assert!(corpus.len() >= 7, "only {} corpus entries", corpus.len());
    let seed = env_number("FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    if let Some(only) = env_number("FUZZ_ONLY") {
        let input = mutated(&corpus, seed, only as usize);
        run_one(&input, seed, only as usize);
        return;
    }
    let total = env_number("FUZZ_INPUTS").map_or(DEFAULT_INPUTS, |n| n as usize);
    // Every corpus entry as it is first: they must pass untouched.
    for (i, entry) in corpus.iter().enumerate() {
        if let Err(message) = survives(entry) {
            fail(entry, &format!("corpus entry {i} ({message})"));
        }
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let input = mutated(&corpus, seed, i);
                    if let Err(message) = survives(&input) {
                        failed.store(true, Ordering::Relaxed);
                        fail(
                            &input,
                            &format!(
                                "input {i} of seed {seed:#x} ({message}); rerun it alone with \
                                 FUZZ_SEED={seed} FUZZ_ONLY={i}"
                            ),
                        );
                    }
                }
            });
        }
    });
}

fn run_one(input: &[u8], seed: u64, i: usize) {
    if let Err(message) = survives(input) {
        fail(input, &format!("input {i} of seed {seed:#x} ({message})"));
    }
}

/// Run the target; a panic becomes its message.
fn survives(input: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| fuzz::inputs(input))).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

/// Save the input and fail with it.
fn fail(input: &[u8], what: &str) -> ! {
    let dir = target_dir().join("fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(format!("{:016x}.input", fnv(input)));
    let _ = std::fs::write(&file, input);
    panic!(
        "rehearsal panicked on {what}.\nThe input ({} bytes) is saved as {}; as text:\n{}",
        input.len(),
        file.display(),
        String::from_utf8_lossy(input)
    );
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={value} is not a number")))
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

// --- The corpus ----------------------------------------------------------------------------

/// The shipped specs, the seeds in `fuzz/seeds/`, and plans as `rehearsal plan` saves them now.
fn corpus() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut entries = vec![];
    for dir in ["environments", "fuzz/seeds"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for file in files {
            entries.push(std::fs::read(&file).unwrap());
        }
    }
    entries.extend(fuzz::seed_plans());
    entries
}

// --- Mutations -----------------------------------------------------------------------------

/// SplitMix64: small, seeded, the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, i: usize) -> Rng {
        let mut rng = Rng(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Bytes that matter to TOML, JSON and references.
const SPECIAL_BYTES: &[u8] = b"\"'[]{}=$.,#\\\n\r\t :-_0\x00\x7f\xff\xc3";

/// Values people, editors and attackers write where a value goes.
const EXTREMES: &[&str] = &[
    "\"\"",
    "0",
    "-1",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "1e400",
    "-0.0",
    "nan",
    "inf",
    "true",
    "null",
    "[]",
    "{}",
    "[[]]",
    "[\"a\", 1]",
    "{ a = 1 }",
    "{\"a\": 1}",
    "\"${var.server_version}\"",
    "\"${var.release | slug}\"",
    "\"${env.name | slug}\"",
    "\"${source.rds_instance.prod_db.identifier}\"",
    "\"${source.ec2_instance.prod_server.security_groups}\"",
    "\"${rds_instance.db.endpoint}\"",
    "\"${ecs_cluster.main.name}\"",
    "\"${ecs_task_definition.server.arn}\"",
    "\"${\"",
    "\"$${\"",
    "\"}\"",
    "\"Prerelease-DB\"",
    "\"a--b\"",
    "\"rehearsal:env\"",
    "\"aws:x\"",
    "\"\\u0000\"",
    "\"é\"",
    "\"1979-05-27T07:32:00Z\"",
    "1979-05-27T07:32:00Z",
    "\"0s\"",
    "\"99999999999d\"",
    "\"-1h\"",
    "\"ephemeral\"",
    "\"protected\"",
    "\"create\"",
    "\"replace\"",
    "\"delete_then_create\"",
    "\"create_then_delete\"",
    "\"rds_instance.db\"",
    "\"ecs_service.server\"",
    "\"x\"",
];

/// Words that move an input from one table, kind or attribute to another.
const WORDS: &[&str] = &[
    "environment",
    "variables",
    "sources",
    "resources",
    "rds_snapshot",
    "rds_instance",
    "ec2_instance",
    "ecs_cluster",
    "ecs_task_definition",
    "ecs_service",
    "security_group",
    "dns_record",
    "identifier",
    "snapshot",
    "latest_snapshot_of",
    "source_db",
    "keep_after_destroy",
    "clone_of",
    "keep_from_production",
    "drop_from_production",
    "containers_override",
    "parameter_group",
    "option_group",
    "ingress",
    "egress",
    "source_security_group",
    "zone",
    "values",
    "count",
    "checks",
    "security_groups",
    "family",
    "containers",
    "task_definition",
    "cluster",
    "depends_on",
    "timeout",
    "tags",
    "name",
    "region",
    "lifecycle",
    "ttl",
    "approvals",
    "default",
    "from_file",
    "actions",
    "desired",
    "live",
    "changes",
    "address",
    "action",
    "reason",
    "replace_order",
    "teardown",
    "fingerprints",
    "integrity",
    "spec",
    "destroy",
    "kept",
    "final_snapshot",
    "safety_snapshot",
    "snapshots",
    "before_apply",
    "keep",
    "rollback",
    "keep_revisions",
    "window",
    "days",
    "hours",
    "time_zone",
    "consent",
    "format_version",
    "depends_on",
    "timeout_secs",
];

fn mutated(corpus: &[Vec<u8>], seed: u64, i: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed, i);
    let mut data = rng.pick(corpus).clone();
    for _ in 0..1 + rng.below(4) {
        mutate(&mut data, corpus, &mut rng);
    }
    data.truncate(MAX_LEN);
    data
}

fn mutate(data: &mut Vec<u8>, corpus: &[Vec<u8>], rng: &mut Rng) {
    let len = data.len();
    match rng.below(14) {
        // A bit flipped.
        0 if len > 0 => {
            let at = rng.below(len);
            data[at] ^= 1 << rng.below(8);
        }
        // A byte replaced by one that matters.
        1 if len > 0 => {
            let at = rng.below(len);
            data[at] = *rng.pick(SPECIAL_BYTES);
        }
        // Bytes inserted: random ones, or ones that matter.
        2 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..n)
                .map(|_| {
                    if rng.below(2) == 0 {
                        rng.next() as u8
                    } else {
                        *rng.pick(SPECIAL_BYTES)
                    }
                })
                .collect();
            data.splice(at..at, bytes);
        }
        // A range deleted.
        3 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(64));
            data.drain(at..at + n);
        }
        // A range repeated.
        4 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.below((len - at).min(256));
            let copy = data[at..at + n].to_vec();
            let times = 1 + rng.below(3);
            for _ in 0..times {
                data.splice(at..at, copy.iter().copied());
            }
        }
        // Spliced with another entry: this one's start, that one's end.
        5 => {
            let other = rng.pick(corpus);
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        // A line duplicated.
        6 => edit_lines(data, rng, |lines, rng| {
            let at = rng.below(lines.len());
            let line = lines[at].clone();
            lines.insert(at, line);
        }),
        // A line deleted.
        7 => edit_lines(data, rng, |lines, rng| {
            let at = rng.below(lines.len());
            lines.remove(at);
        }),
        // Two lines swapped.
        8 => edit_lines(data, rng, |lines, rng| {
            let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
            lines.swap(a, b);
        }),
        // A line of another entry inserted.
        9 => {
            let other = rng.pick(corpus).clone();
            let other: Vec<&[u8]> = other.split(|b| *b == b'\n').collect();
            let line = rng.pick(&other).to_vec();
            edit_lines(data, rng, |lines, rng| {
                let at = rng.below(lines.len() + 1);
                lines.insert(at, line.clone());
            });
        }
        // A value replaced with an extreme: after `= ` in TOML, after `": ` in JSON.
        10 | 11 => edit_lines(data, rng, |lines, rng| {
            let at = rng.below(lines.len());
            let line = &lines[at];
            let Some(pos) = find(line, b"= ").or_else(|| find(line, b"\": ")) else {
                return;
            };
            let keep = pos + 2;
            let mut edited = line[..keep].to_vec();
            let extreme = rng.pick(EXTREMES).as_bytes();
            edited.extend_from_slice(extreme);
            // JSON lines end with `,` when more follows: keep it.
            if line.ends_with(b",") {
                edited.push(b',');
            }
            lines[at] = edited;
        }),
        // A word swapped for another one rehearsal knows.
        12 => {
            let from = rng.pick(WORDS).as_bytes();
            let to = rng.pick(WORDS).as_bytes();
            if let Some(pos) = find_any(data, from, rng) {
                data.splice(pos..pos + from.len(), to.iter().copied());
            }
        }
        // A long value: where a value starts, a run of one character.
        _ => {
            let at = find_any(data, b"= \"", rng)
                .or_else(|| find_any(data, b"\": \"", rng))
                .map_or(rng.below(len + 1), |p| p + 3);
            let byte = *rng.pick(b"x.-_A9 $");
            let n = 1 << (6 + rng.below(9));
            data.splice(at..at, std::iter::repeat_n(byte, n));
        }
    }
}

/// Edit `data` as lines (kept when it holds none).
fn edit_lines(data: &mut Vec<u8>, rng: &mut Rng, edit: impl FnOnce(&mut Vec<Vec<u8>>, &mut Rng)) {
    let mut lines: Vec<Vec<u8>> = data.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    if lines.is_empty() {
        return;
    }
    edit(&mut lines, rng);
    *data = lines.join(&b'\n');
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One of the places `needle` is, chosen by `rng`.
fn find_any(haystack: &[u8], needle: &[u8], rng: &mut Rng) -> Option<usize> {
    let places: Vec<usize> = haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    (!places.is_empty()).then(|| *rng.pick(&places))
}

// --- What fuzzers found --------------------------------------------------------------------

/// A look-up whose name is thousands of characters long: the error quoted it whole, in a line
/// of 2 234 characters (and a name of megabytes made an error of megabytes). Every line of an
/// error is cut now.
#[test]
fn a_look_up_of_a_very_long_name_makes_a_short_error() {
    let spec = include_str!("../environments/production.toml").replace(
        "cluster = \"production\"",
        &format!("cluster = \"{}\"", "$".repeat(2_000)),
    );
    fuzz::inputs(spec.as_bytes());
}
