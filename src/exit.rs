//! Exit codes are a contract: CI branches on them, so each means one thing (README.md, "Exit
//! codes"). A usage error is 64 (sysexits' `EX_USAGE`), never 2: under `plan
//! --detailed-exitcode`, 2 means "the plan has changes", and a mistyped flag must not read as that.

/// Success. `plan --detailed-exitcode`: no changes. `destroy`: proven destroyed.
pub const SUCCESS: u8 = 0;
/// An error: a bad spec, AWS refused, a file cannot be read or written, a protected
/// environment refused.
pub const ERROR: u8 = 1;
/// `plan --detailed-exitcode` only: the plan has changes.
pub const CHANGES: u8 = 2;
/// Re-plan: the saved plan cannot be applied as it is (stale, already applied, written in
/// another plan format, or damaged).
pub const REPLAN: u8 = 3;
/// `apply` ran and a step failed; its summary lists what was done, what failed, what was skipped.
pub const STEPS_FAILED: u8 = 4;
/// `destroy` or `reap` left something behind, and listed it.
pub const LEFTOVERS: u8 = 5;
/// Everything was created (or already was), and a check of the spec's `[checks]` did not pass
/// within its timeout; the environment is left as it is.
pub const CHECKS_FAILED: u8 = 6;
/// A command that changes the environment was refused: its spec's `[window]` is closed now,
/// and no `--override-window REASON` was given. Try again when it opens (the message says when).
pub const WINDOW_CLOSED: u8 = 7;
/// Another command holds the environment's lock (its holder, since when and what for are
/// shown); `--lock-timeout` waits for it.
pub const LOCKED: u8 = 8;
/// The environment is paused (`rehearsal pause`): nothing changes it until `rehearsal resume`.
pub const PAUSED: u8 = 9;
/// The environment's spec requires approvals (`approvals = N`) and this plan has too few from
/// people other than the one applying it (who approved it and how many more are needed are shown).
pub const NOT_APPROVED: u8 = 10;
/// The command line is wrong: an unknown flag, a missing argument or region, a bad value,
/// `--var` with a saved plan, or no terminal to confirm on and no `--auto-approve`.
pub const USAGE: u8 = 64;
