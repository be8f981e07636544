//! How the process asks memory of the allocator. glibc gives each thread
//! that allocates an arena of its own (up to eight per core) and keeps
//! what is freed in each; after a peak (a getProperties flood, say) the
//! freed pages stay with the process. Two arenas serve labdeck's few busy
//! threads and give most of a peak back (measured in BENCHMARKS.md,
//! "Soak"). `MALLOC_ARENA_MAX` in the environment still wins. What is
//! freed in the middle of the heap is handed back every half minute.

/// Limit the allocator to two arenas, unless `MALLOC_ARENA_MAX` says
/// otherwise. Call first thing in `main`, before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // one libc call with plain integer arguments
pub fn limit_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; called before
        // other threads exist.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Other allocators decide for themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas() {}

/// How often freed memory is handed back to the system.
const GIVE_BACK_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// A thread that hands freed heap pages back to the system every
/// [`GIVE_BACK_EVERY`] (glibc keeps them otherwise, and RSS would stay at
/// the last peak). A few milliseconds on a heap of tens of megabytes.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn give_back_freed_memory() {
    let _ = std::thread::Builder::new()
        .name("labdeck-trim".into())
        .spawn(|| {
            loop {
                std::thread::sleep(GIVE_BACK_EVERY);
                trim();
            }
        });
}

/// Other allocators decide for themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn give_back_freed_memory() {}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)] // one libc call with no pointer arguments
fn trim() {
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
