//! SQLite's default page cache, wrapped so B-tree balancing does not make
//! every commit scan the whole cache.
//!
//! When `balance_nonroot` renumbers the pages it split (so siblings keep
//! ascending page numbers), it parks one page at a temporary number, that of
//! the lock-byte page (`PENDING_BYTE / page_size + 1`: 262,145 with 4 KiB
//! pages), which no B-tree ever uses. The default cache (pcache1)
//! remembers that as its largest key. Every commit then truncates the cache
//! to the database's size, and with the largest key far beyond it, pcache1
//! walks its whole hash table (every cached page) instead of a few slots:
//! with the store's 128 MiB writer cache, that walk was 2 to 3% of all the
//! CPU of the e2e bench at 12,000 msg/s, under the writer's lock, for as
//! long as the database stays under 1 GiB, and it grew as the cache filled.
//! Wrapped, the pipeline bench in the e2e shape (12,000 msg/s for 150 s) took
//! 49 µs per message at a flat 0.52–0.61 cores, against 53 µs and 0.61–0.72
//! cores rising, back to back.
//!
//! The wrapper passes every call through to pcache1 and only renames that
//! one temporary key to 0, which SQLite never uses as a page number, so
//! pcache1's largest key stays the database's. Truncation keeps its meaning:
//! a truncation that would drop the temporary page drops key 0 too.
//!
//! [`install`] must run before SQLite initializes (before the first
//! connection of the process); `Db::open_with` calls it. When something else
//! initialized SQLite first, it changes nothing and SQLite runs as before.

use rusqlite::ffi;
use std::os::raw::{c_int, c_uint, c_void};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Once, OnceLock};

/// SQLite's lock-byte offset (`PENDING_BYTE`, unless a test build moved it).
const PENDING_BYTE: c_uint = 0x4000_0000;

/// The default page cache's methods, which the wrapper calls.
static DEFAULT: OnceLock<Methods> = OnceLock::new();
static INSTALL: Once = Once::new();
/// Set once SQLite accepted the wrapper.
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Pages renamed from the temporary key (how often balancing parked one).
static PARKED: AtomicU64 = AtomicU64::new(0);

/// Installs the wrapper process-wide, once; returns whether it is installed.
pub fn install() -> bool {
    INSTALL.call_once(|| {
        let mut default = empty_methods();
        // SAFETY: both options take one pointer to a `sqlite3_pcache_methods2`;
        // GETPCACHE2 writes the current (default) methods into it and
        // PCACHE2 copies ours. SQLite refuses both (MISUSE) once initialized.
        let got = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_GETPCACHE2, &mut default as *mut _) };
        if got != ffi::SQLITE_OK || DEFAULT.set(Methods(default)).is_err() {
            tracing::debug!(code = got, "sqlite already initialized: page cache wrapper not installed");
            return;
        }
        let wrapper = wrapper_methods();
        // SAFETY: as above; `wrapper` is copied by SQLite before this returns.
        let set = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_PCACHE2, &wrapper as *const _) };
        if set == ffi::SQLITE_OK {
            INSTALLED.store(true, Ordering::Relaxed);
        } else {
            tracing::warn!(code = set, "sqlite refused the page cache wrapper; commits will walk the whole cache");
        }
    });
    installed()
}

/// Whether SQLite's page cache is the wrapper.
pub fn installed() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// How many times balancing parked a page at the temporary key since start.
pub fn parked_pages() -> u64 {
    PARKED.load(Ordering::Relaxed)
}

/// pcache1's methods: function pointers and its `pArg` (null in SQLite's
/// build), which SQLite itself calls from any thread.
struct Methods(ffi::sqlite3_pcache_methods2);

// SAFETY: see `Methods`: nothing in it is tied to a thread.
unsafe impl Send for Methods {}
// SAFETY: it is never changed after `install` sets it.
unsafe impl Sync for Methods {}

fn empty_methods() -> ffi::sqlite3_pcache_methods2 {
    ffi::sqlite3_pcache_methods2 {
        iVersion: 0,
        pArg: std::ptr::null_mut(),
        xInit: None,
        xShutdown: None,
        xCreate: None,
        xCachesize: None,
        xPagecount: None,
        xFetch: None,
        xUnpin: None,
        xRekey: None,
        xTruncate: None,
        xDestroy: None,
        xShrink: None,
    }
}

fn wrapper_methods() -> ffi::sqlite3_pcache_methods2 {
    ffi::sqlite3_pcache_methods2 {
        iVersion: 1,
        pArg: std::ptr::null_mut(),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        xCreate: Some(create),
        xCachesize: Some(cachesize),
        xPagecount: Some(pagecount),
        xFetch: Some(fetch),
        xUnpin: Some(unpin),
        xRekey: Some(rekey),
        xTruncate: Some(truncate),
        xDestroy: Some(destroy),
        xShrink: Some(shrink),
    }
}

/// One cache: pcache1's, and the temporary key for its page size.
struct Wrapped {
    inner: *mut ffi::sqlite3_pcache,
    parking_key: c_uint,
}

fn default() -> &'static ffi::sqlite3_pcache_methods2 {
    &DEFAULT.get().unwrap_or_else(|| unreachable!("the wrapper is installed only after DEFAULT is set")).0
}

/// SAFETY (for every function below): SQLite calls them with the handle
/// `create` returned (a live `Wrapped`) until `destroy`, and with pages
/// pcache1 returned for that handle; each forwards to pcache1's method of
/// the same name, which SQLite's own default build provides (all non-null).
unsafe fn wrapped<'a>(p: *mut ffi::sqlite3_pcache) -> &'a Wrapped {
    &*(p as *const Wrapped)
}

fn key(w: &Wrapped, k: c_uint) -> c_uint {
    if k == w.parking_key {
        0
    } else {
        k
    }
}

unsafe extern "C" fn init(_: *mut c_void) -> c_int {
    let d = default();
    d.xInit.map_or(ffi::SQLITE_OK, |f| f(d.pArg))
}

unsafe extern "C" fn shutdown(_: *mut c_void) {
    let d = default();
    if let Some(f) = d.xShutdown {
        f(d.pArg)
    }
}

unsafe extern "C" fn create(sz_page: c_int, sz_extra: c_int, purgeable: c_int) -> *mut ffi::sqlite3_pcache {
    let Some(f) = default().xCreate else { return std::ptr::null_mut() };
    let inner = f(sz_page, sz_extra, purgeable);
    if inner.is_null() {
        return inner;
    }
    let parking_key = PENDING_BYTE / sz_page.max(1) as c_uint + 1;
    Box::into_raw(Box::new(Wrapped { inner, parking_key })) as *mut ffi::sqlite3_pcache
}

unsafe extern "C" fn cachesize(p: *mut ffi::sqlite3_pcache, n: c_int) {
    if let Some(f) = default().xCachesize {
        f(wrapped(p).inner, n)
    }
}

unsafe extern "C" fn pagecount(p: *mut ffi::sqlite3_pcache) -> c_int {
    default().xPagecount.map_or(0, |f| f(wrapped(p).inner))
}

unsafe extern "C" fn fetch(p: *mut ffi::sqlite3_pcache, k: c_uint, create: c_int) -> *mut ffi::sqlite3_pcache_page {
    let w = wrapped(p);
    default().xFetch.map_or(std::ptr::null_mut(), |f| f(w.inner, key(w, k), create))
}

unsafe extern "C" fn unpin(p: *mut ffi::sqlite3_pcache, page: *mut ffi::sqlite3_pcache_page, discard: c_int) {
    if let Some(f) = default().xUnpin {
        f(wrapped(p).inner, page, discard)
    }
}

unsafe extern "C" fn rekey(p: *mut ffi::sqlite3_pcache, page: *mut ffi::sqlite3_pcache_page, old: c_uint, new: c_uint) {
    let w = wrapped(p);
    if new == w.parking_key {
        PARKED.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(f) = default().xRekey {
        f(w.inner, page, key(w, old), key(w, new))
    }
}

unsafe extern "C" fn truncate(p: *mut ffi::sqlite3_pcache, limit: c_uint) {
    let w = wrapped(p);
    let d = default();
    if let Some(f) = d.xTruncate {
        f(w.inner, limit)
    }
    // What pcache1 would have dropped at the temporary key: a fetch pins it
    // (as truncation does) and a discarding unpin frees it.
    if limit <= w.parking_key {
        if let (Some(fetch), Some(unpin)) = (d.xFetch, d.xUnpin) {
            let parked = fetch(w.inner, 0, 0);
            if !parked.is_null() {
                unpin(w.inner, parked, 1);
            }
        }
    }
}

unsafe extern "C" fn destroy(p: *mut ffi::sqlite3_pcache) {
    let w = Box::from_raw(p as *mut Wrapped);
    if let Some(f) = default().xDestroy {
        f(w.inner)
    }
}

unsafe extern "C" fn shrink(p: *mut ffi::sqlite3_pcache) {
    if let Some(f) = default().xShrink {
        f(wrapped(p).inner)
    }
}
