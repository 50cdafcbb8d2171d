//! A woof: create, open, put, get, wait. The publish protocol is in `lib/FORMAT.md`.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorKind, Result};
use crate::fault;
use crate::format::{
    self, Durability, HEADER_SIZE, Header, MAX_SCHEMA, OFF_CONSUMED, OFF_PUBLISHED, SLOT_CRC,
    SLOT_DATA, SLOT_SEQNO, SLOT_TIME,
};
use crate::lock;
use crate::map::{self, Map};
use crate::sigbus;
use crate::wake;

/// How to create a woof.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub element_size: u64,
    pub history: u64,
    pub durability: Durability,
    pub schema: Vec<u8>,
    /// Replace an existing woof (atomically, by rename).
    pub force: bool,
}

impl CreateOptions {
    pub fn new(element_size: u64, history: u64) -> CreateOptions {
        CreateOptions {
            element_size,
            history,
            durability: Durability::None,
            schema: Vec::new(),
            force: false,
        }
    }
}

/// Where an element came from: its seqno and put time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element {
    pub seqno: u64,
    /// Put time, nanoseconds since the Unix epoch.
    pub time_ns: u64,
}

/// What `woof-get --info` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub element_size: u64,
    pub history: u64,
    pub latest: u64,
    /// 0 when the woof is empty.
    pub oldest: u64,
    pub durability: Durability,
    pub created_ns: u64,
    pub schema: Vec<u8>,
    pub file_len: u64,
    /// Random, new at each create (FORMAT.md `incarnation`); 0 when not known
    /// (a CSPOT host, an older proxy).
    pub incarnation: u64,
}

/// An open woof file.
pub struct Woof {
    /// None after `close_descriptor`: the mapping alone serves reads.
    file: Option<File>,
    /// (device, inode) of the file opened, for `replaced`.
    ident: (u64, u64),
    map: Map,
    header: Header,
    path: PathBuf,
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

impl Woof {
    /// Creates a woof at `path` with its full length preallocated. Refuses to replace
    /// an existing file unless `opts.force`; the new file appears atomically either way.
    pub fn create(path: &Path, opts: &CreateOptions) -> Result<Woof> {
        format::check_geometry(opts.element_size, opts.history)?;
        if opts.schema.len() > MAX_SCHEMA {
            return Err(Error::new(
                ErrorKind::BadArgument,
                format!(
                    "schema is {} bytes (at most {MAX_SCHEMA})",
                    opts.schema.len()
                ),
            ));
        }
        let header = Header {
            element_size: opts.element_size as u32,
            history: opts.history,
            created_ns: now_ns(),
            durability: opts.durability,
            schema: opts.schema.clone(),
            incarnation: new_incarnation(),
        };
        let exists = |p: &Path| {
            Error::new(ErrorKind::Exists, p.display().to_string())
                .detail("already exists (use --force to replace it and discard its elements)")
        };
        if !opts.force && fs::symlink_metadata(path).is_ok() {
            return Err(exists(path));
        }
        if opts.force {
            refuse_replacing_non_woof(path)?;
        }
        let tmp = temp_path(path);
        let built = build_file(&tmp, path, &header);
        let file = match built {
            Ok(f) => f,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        // Publish the finished file: hard_link refuses to replace (two concurrent
        // creates cannot both win); rename replaces atomically for --force.
        let placed = if opts.force {
            fs::rename(&tmp, path)
        } else {
            fs::hard_link(&tmp, path)
        };
        let _ = fs::remove_file(&tmp);
        match placed {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(exists(path)),
            Err(e) => return Err(cant_create(path, e)),
        }
        if opts.durability != Durability::None {
            sync_dir(path);
        }
        Woof::from_file(file, path, true)
    }

    /// Opens an existing woof, read-write when permitted (writers, followers), else
    /// read-only.
    pub fn open(path: &Path) -> Result<Woof> {
        match open_options().read(true).write(true).open(path) {
            Ok(f) => Woof::from_file(f, path, true),
            // A directory cannot be opened for writing; opened read-only it is
            // reported as "not a woof", as for every reader.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::PermissionDenied | io::ErrorKind::IsADirectory
                ) =>
            {
                Woof::open_readonly(path)
            }
            Err(e) => Err(open_error(path, e)),
        }
    }

    /// Opens an existing woof for reading only.
    pub fn open_readonly(path: &Path) -> Result<Woof> {
        let f = open_options()
            .read(true)
            .open(path)
            .map_err(|e| open_error(path, e))?;
        Woof::from_file(f, path, false)
    }

    fn from_file(file: File, path: &Path, writable: bool) -> Result<Woof> {
        let ctx = || path.display().to_string();
        let meta = file.metadata().map_err(|e| Error::io(ctx(), e))?;
        if !meta.is_file() {
            return Err(
                Error::new(ErrorKind::Corrupt, ctx()).detail("not a woof (not a regular file)")
            );
        }
        let mut page = vec![0u8; HEADER_SIZE as usize];
        let got = read_prefix(&file, &mut page).map_err(|e| Error::io(ctx(), e))?;
        let header = Header::decode(&page[..got], meta.len()).map_err(|e| e.within(ctx()))?;
        let map = Map::new(&file, header.file_len(), writable).map_err(|e| Error::io(ctx(), e))?;
        use std::os::unix::fs::MetadataExt;
        let woof = Woof {
            ident: (meta.dev(), meta.ino()),
            file: Some(file),
            map,
            header,
            path: path.to_path_buf(),
        };
        if writable && let Some(file) = &woof.file {
            lock::ensure_epoch(file, &woof.map).map_err(|e| Error::io(ctx(), e))?;
        }
        Ok(woof)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether its path now names another file, or none: `woof-create --force`
    /// renames a new woof into place, and a follower of the old one would wait for
    /// ever (`woof-tail -F` reopens it).
    pub fn replaced(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        match fs::symlink_metadata(&self.path) {
            Ok(named) => self.ident != (named.dev(), named.ino()),
            _ => true,
        }
    }

    /// Closes the file descriptor and keeps the mapping, for a reader that holds
    /// thousands of woofs open (woof-forward --all): reads, follows and `replaced`
    /// go on; `writer` is refused from then on.
    pub fn close_descriptor(&mut self) {
        self.file = None;
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub(crate) fn map(&self) -> &Map {
        &self.map
    }

    pub fn element_size(&self) -> usize {
        self.header.element_size as usize
    }

    pub fn history(&self) -> u64 {
        self.header.history
    }

    /// Whether this handle may put (and register as a waiter).
    pub fn writable(&self) -> bool {
        self.map.writable()
    }

    /// The latest published seqno; 0 for an empty woof. Never u64::MAX, which no
    /// element can have (a corrupt counter there reads as one less, so `latest + 1`
    /// cannot wrap anywhere and the next put is refused).
    pub fn latest(&self) -> u64 {
        self.map
            .u64_at(OFF_PUBLISHED)
            .load(Ordering::Acquire)
            .min(u64::MAX - 1)
    }

    /// The oldest seqno still held for a given latest; 0 for an empty woof.
    pub fn oldest_for(&self, latest: u64) -> u64 {
        if latest == 0 {
            0
        } else {
            latest.saturating_sub(self.header.history) + 1
        }
    }

    /// The consumer watermark: every seqno ≤ it has been processed (trigger logs).
    pub fn consumed(&self) -> u64 {
        self.map.u64_at(OFF_CONSUMED).load(Ordering::Acquire)
    }

    /// Advances the consumer watermark (only ever upwards; one consumer per woof).
    pub fn set_consumed(&self, seqno: u64) -> Result<()> {
        if !self.map.writable() {
            return Err(
                Error::new(ErrorKind::Denied, self.path.display().to_string())
                    .detail("opened read-only (no write permission)"),
            );
        }
        self.map
            .u64_at(OFF_CONSUMED)
            .fetch_max(seqno, Ordering::AcqRel);
        Ok(())
    }

    /// The oldest seqno still held; 0 for an empty woof.
    pub fn oldest(&self) -> u64 {
        self.oldest_for(self.latest())
    }

    pub fn info(&self) -> Info {
        let latest = self.latest();
        Info {
            element_size: u64::from(self.header.element_size),
            history: self.header.history,
            latest,
            oldest: self.oldest_for(latest),
            durability: self.header.durability,
            created_ns: self.header.created_ns,
            schema: self.header.schema.clone(),
            file_len: self.header.file_len(),
            incarnation: self.header.incarnation,
        }
    }

    /// Copies element `seqno` (0 = latest) into `buf` (exactly element_size bytes).
    /// Never blocks writers: the slot's seqno is checked before and after the copy,
    /// and its checksum after.
    pub fn get(&self, seqno: u64, buf: &mut [u8]) -> Result<Element> {
        self.check_size(buf.len())
            .map_err(|e| e.with_context("read buffer"))?;
        // A page lost to truncation reads as zeros (`sigbus.rs`), which no slot
        // passes (seqno 0 never matches, and the CRC catches a slot cut across a
        // page): a successful copy is real data. Only failures need a look at the
        // file's length, so the hot path pays nothing.
        let got = self.get_mapped(seqno, buf);
        if got.is_err() {
            self.check_intact(0)?;
        }
        got
    }

    /// A shrunken file's pages read as zeros (`sigbus.rs`): if a fault was absorbed
    /// since `faults` (0: ever), make sure it was not this woof's.
    #[inline(always)]
    fn check_intact(&self, faults: u64) -> Result<()> {
        if sigbus::faults() == faults {
            return Ok(());
        }
        self.check_length()
    }

    #[cold]
    #[inline(never)]
    fn check_length(&self) -> Result<()> {
        let meta = match &self.file {
            Some(file) => file.metadata(),
            None => fs::metadata(&self.path),
        };
        let len = meta
            .map_err(|e| Error::io(self.path.display().to_string(), e))?
            .len();
        if len < self.header.file_len() {
            return Err(Error::new(ErrorKind::Corrupt, "").detail(format!(
                "truncated while open: {len} bytes, shorter than its {} bytes",
                self.header.file_len()
            )));
        }
        Ok(())
    }

    #[inline(always)]
    fn get_mapped(&self, seqno: u64, buf: &mut [u8]) -> Result<Element> {
        let latest = self.latest();
        let seqno = if seqno == 0 {
            if latest == 0 {
                return Err(Error::new(ErrorKind::Empty, ""));
            }
            latest
        } else {
            seqno
        };
        if seqno > latest {
            return Err(Error::new(ErrorKind::NotYet { seqno, latest }, ""));
        }
        let oldest = self.oldest_for(latest);
        if seqno < oldest {
            return Err(Error::new(ErrorKind::Evicted { seqno, oldest }, ""));
        }
        let off = self.header.slot_offset(seqno);
        let seq_word = self.map.u64_at(off + SLOT_SEQNO);
        let before = seq_word.load(Ordering::Acquire);
        let mut meta = [0u8; SLOT_DATA - SLOT_TIME];
        self.map.read(off + SLOT_TIME, &mut meta);
        self.map.read(off + SLOT_DATA, buf);
        std::sync::atomic::fence(Ordering::Acquire);
        let after = seq_word.load(Ordering::Relaxed);
        if before != seqno || after != seqno {
            let seen = if before != seqno { before } else { after };
            if seen == 0 || seen > seqno {
                // A writer took (or has taken) the slot: the element is gone.
                let oldest = self.oldest().max(seqno.saturating_add(1));
                return Err(Error::new(ErrorKind::Evicted { seqno, oldest }, ""));
            }
            return Err(Error::new(ErrorKind::Corrupt, "").detail(format!(
                "seqno {seqno}: slot holds seqno {seen} (lost in a crash before sync?)"
            )));
        }
        let time_ns = u64::from_le_bytes(meta[..8].try_into().unwrap_or_default());
        let crc = u32::from_le_bytes(
            meta[SLOT_CRC - SLOT_TIME..][..4]
                .try_into()
                .unwrap_or_default(),
        );
        if crc != format::slot_crc(seqno, time_ns, buf) {
            return Err(Error::new(ErrorKind::Corrupt, "")
                .detail(format!("seqno {seqno}: slot checksum mismatch")));
        }
        Ok(Element { seqno, time_ns })
    }

    /// Appends one element (exactly element_size bytes) with the woof's own durability.
    pub fn put(&self, data: &[u8]) -> Result<u64> {
        self.put_with(data, self.header.durability)
    }

    /// Appends one element, syncing as `durability` says before returning its seqno.
    pub fn put_with(&self, data: &[u8], durability: Durability) -> Result<u64> {
        self.check_size(data.len())?;
        let seqno = {
            let mut w = self.writer()?;
            w.append(data)?
        };
        if durability != Durability::None {
            self.sync(seqno, seqno)?;
        }
        Ok(seqno)
    }

    /// Takes the writers' lock for a run of appends. Elements become visible at
    /// `publish` (or when the writer is dropped); the lock is released on drop.
    pub fn writer(&self) -> Result<Writer<'_>> {
        if !self.map.writable() {
            return Err(
                Error::new(ErrorKind::Denied, self.path.display().to_string())
                    .detail("opened read-only (no write permission)"),
            );
        }
        let Some(file) = &self.file else {
            return Err(
                Error::new(ErrorKind::Denied, self.path.display().to_string())
                    .detail("opened for reading only (descriptor closed)"),
            );
        };
        let guard = lock::acquire(file, &self.map)
            .map_err(|e| Error::io(self.path.display().to_string(), e))?;
        fault::point("put:locked");
        let latest = self.latest();
        Ok(Writer {
            faults: sigbus::faults(),
            woof: self,
            _guard: guard,
            published: latest,
            // `latest` is below u64::MAX; `append_at` refuses u64::MAX itself.
            next: latest + 1,
        })
    }

    /// Whether another writer holds the lock right now (a put would wait for it).
    /// A server uses it to keep puts that could wait off a thread that must not;
    /// the answer may be stale as soon as it is given.
    pub fn writers_busy(&self) -> bool {
        if !self.map.writable() {
            return false;
        }
        matches!(lock::try_acquire(&self.map), Ok(None))
    }

    /// An element of any other size than this woof's is an error.
    pub fn check_size(&self, got: usize) -> Result<()> {
        if got != self.element_size() {
            return Err(Error::new(
                ErrorKind::Size {
                    expected: self.element_size() as u64,
                    got: got as u64,
                },
                "",
            ));
        }
        Ok(())
    }

    /// Writes elements `first..=last` and the counters to stable storage.
    pub fn sync(&self, first: u64, last: u64) -> Result<()> {
        if first == 0 || last < first {
            return Ok(());
        }
        let slot = self.header.slot_size() as usize;
        let count = (last - first + 1).min(self.header.history);
        let first = last + 1 - count;
        let start = self.header.slot_offset(first);
        let end = self.header.slot_offset(last) + slot;
        let res = if end > start {
            self.map.sync(start, end - start)
        } else {
            // The range wraps around the ring: two pieces.
            self.map.sync(start, self.map.len() - start).and_then(|()| {
                self.map
                    .sync(HEADER_SIZE as usize, end - HEADER_SIZE as usize)
            })
        };
        // Slots first, then the counter that makes them visible after a crash.
        res.and_then(|()| self.map.sync(0, HEADER_SIZE as usize))
            .map_err(|e| {
                Error::new(ErrorKind::Io, self.path.display().to_string())
                    .detail(format!("sync failed: {}", Error::io("", e)))
            })
    }

    /// Blocks until the latest seqno exceeds `after`, `timeout` passes, or
    /// `wake_waiters` is called; returns the latest seqno, which may still be ≤ `after`
    /// (callers loop). Sleeps on the header's futex word (no polling).
    /// Starts watching this woof for `wake::wait_any` (one thread waits on many
    /// woofs): its writers wake the futex from now on. False when they cannot be
    /// asked to (read-only): re-check every `wake::WATCH_RECHECK` instead. Every
    /// `watch_start` that returned true needs one `watch_end`.
    pub fn watch_start(&self) -> bool {
        wake::watch_start(&self.map)
    }

    pub fn watch_end(&self) {
        wake::watch_end(&self.map)
    }

    /// The futex word writers bump: read it, then check `latest`, then give it to
    /// `wake::wait_any`, and no put is missed.
    pub fn wake_word(&self) -> u32 {
        wake::wake_word(&self.map)
    }

    pub fn wait_after(&self, after: u64, timeout: Option<Duration>) -> u64 {
        wake::wait_after(&self.map, after, timeout)
    }

    /// As `wait_after`, but sleeps at once instead of spinning a moment first: for
    /// a caller that has just written to another process (see `wake::sleep_after`).
    pub fn sleep_after(&self, after: u64, timeout: Option<Duration>) -> u64 {
        wake::sleep_after(&self.map, after, timeout)
    }

    /// Wakes every process waiting on this woof, e.g. to make a follower notice
    /// that it should stop.
    pub fn wake_waiters(&self) {
        wake::wake_all(&self.map);
    }
}

/// Holds the writers' lock; appends elements and publishes them.
pub struct Writer<'a> {
    /// `sigbus::faults()` when the writer started (see `Woof::check_intact`).
    faults: u64,
    woof: &'a Woof,
    _guard: lock::Guard<'a>,
    published: u64,
    next: u64,
}

impl Writer<'_> {
    /// Writes one element into the next slot; it is visible after `publish`.
    /// Returns its seqno.
    pub fn append(&mut self, data: &[u8]) -> Result<u64> {
        self.append_at(data, now_ns())
    }

    /// As `append` with an explicit put time.
    pub fn append_at(&mut self, data: &[u8], time_ns: u64) -> Result<u64> {
        let woof = self.woof;
        woof.check_size(data.len())?;
        let seqno = self.next;
        if seqno == u64::MAX {
            // Seqnos never wrap (FORMAT.md); only a corrupt counter gets here.
            return Err(Error::new(ErrorKind::Corrupt, "").detail(format!(
                "no seqno left: the published counter is at {} (corrupt header?)",
                self.published
            )));
        }
        let off = woof.header.slot_offset(seqno);
        let seq_word = woof.map.u64_at(off + SLOT_SEQNO);
        // Invalidate the slot first: a reader copying the element it held sees the
        // change and reports it evicted instead of returning torn bytes.
        seq_word.store(0, Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Release);
        fault::point("put:slot-invalidated");
        let mut meta = [0u8; SLOT_DATA - SLOT_TIME];
        meta[..8].copy_from_slice(&time_ns.to_le_bytes());
        meta[SLOT_CRC - SLOT_TIME..][..4]
            .copy_from_slice(&format::slot_crc(seqno, time_ns, data).to_le_bytes());
        woof.map.write(off + SLOT_TIME, &meta);
        woof.map.write(off + SLOT_DATA, data);
        fault::point("put:data-written");
        woof.check_intact(self.faults)?;
        seq_word.store(seqno, Ordering::Release);
        fault::point("put:slot-stamped");
        self.next += 1;
        Ok(seqno)
    }

    /// Makes every appended element visible and wakes followers. Returns the range
    /// published by this call, if any.
    pub fn publish(&mut self) -> Option<(u64, u64)> {
        let last = self.next - 1;
        if last == self.published {
            return None;
        }
        let first = self.published + 1;
        self.woof
            .map
            .u64_at(OFF_PUBLISHED)
            .store(last, Ordering::Release);
        fault::point("put:published");
        wake::notify(&self.woof.map, last);
        self.published = last;
        Some((first, last))
    }

    /// Seqno the next append will get.
    pub fn next_seqno(&self) -> u64 {
        self.next
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        // Appended elements are whole; publishing them before unlocking keeps the
        // "append means visible" contract even on early return.
        self.publish();
    }
}

/// A non-zero random id for a new woof. Without the kernel's randomness, time and
/// pid still tell two creates apart.
fn new_incarnation() -> u64 {
    let mut b = [0u8; 8];
    let id = match getrandom::fill(&mut b) {
        Ok(()) => u64::from_le_bytes(b),
        Err(_) => now_ns() ^ (u64::from(std::process::id()) << 40),
    };
    id.max(1)
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A leading dot is never a valid woof name, so this cannot collide with one.
    path.with_file_name(format!(".{name}.creating.{}", std::process::id()))
}

fn cant_create(path: &Path, e: io::Error) -> Error {
    let mut err = Error::io(path.display().to_string(), e);
    if *err.kind() == ErrorKind::Io || *err.kind() == ErrorKind::Exists {
        err = Error::new(ErrorKind::CantCreate, "").detail(err.to_string());
    }
    err
}

/// Builds the complete file at `tmp`; errors name `path`, the woof being created.
fn build_file(tmp: &Path, path: &Path, header: &Header) -> Result<File> {
    let ctx = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => Error::new(
            ErrorKind::NotFound,
            tmp.parent()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        )
        .detail("no such namespace directory"),
        _ => cant_create(path, e),
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(ctx)?;
    let len = header.file_len();
    map::preallocate(&file, len).map_err(ctx)?;
    if header.durability != Durability::None {
        // Write real zeros so later syncs overwrite allocated blocks instead of
        // converting unwritten extents (a journal commit per first write).
        zero_fill(&file, len).map_err(ctx)?;
    }
    file.write_all_at(&header.encode(), 0).map_err(ctx)?;
    let map = Map::new(&file, len, true).map_err(ctx)?;
    lock::init(&map).map_err(ctx)?;
    drop(map);
    if header.durability != Durability::None {
        file.sync_all().map_err(ctx)?;
    }
    Ok(file)
}

fn zero_fill(file: &File, len: u64) -> io::Result<()> {
    let chunk = vec![0u8; 1 << 20];
    let mut off = HEADER_SIZE;
    while off < len {
        let n = (len - off).min(chunk.len() as u64) as usize;
        file.write_all_at(&chunk[..n], off)?;
        off += n as u64;
    }
    Ok(())
}

fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

/// How every woof is opened: never through a symbolic link (a name in a namespace,
/// perhaps from the network, must not reach a file outside it), and never blocking
/// (a FIFO under a woof's name is reported as not a woof instead of hanging).
fn open_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    o
}

/// `--force` replaces a woof, never anything else: the file there must carry the
/// woof signature (a damaged or other-version woof may still be replaced).
fn refuse_replacing_non_woof(path: &Path) -> Result<()> {
    let refuse = |why: &str| {
        Err(
            Error::new(ErrorKind::CantCreate, path.display().to_string()).detail(format!(
                "{why}; --force replaces only a woof (remove it yourself if it must go)"
            )),
        )
    };
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(path.display().to_string(), e)),
    };
    if meta.file_type().is_symlink() {
        return refuse("is a symbolic link, not a woof");
    }
    if !meta.is_file() {
        return refuse("is not a woof (not a regular file)");
    }
    let file = open_options()
        .read(true)
        .open(path)
        .map_err(|e| open_error(path, e))?;
    let mut magic = [0u8; 8];
    let got =
        read_prefix(&file, &mut magic).map_err(|e| Error::io(path.display().to_string(), e))?;
    if got < magic.len() || magic != format::MAGIC {
        return refuse("is not a woof (no woof signature)");
    }
    Ok(())
}

fn open_error(path: &Path, e: io::Error) -> Error {
    if e.raw_os_error() == Some(libc::ELOOP) {
        return Error::new(ErrorKind::Corrupt, path.display().to_string())
            .detail("not a woof (a symbolic link; woofs are never reached through links)");
    }
    let err = Error::io(path.display().to_string(), e);
    if *err.kind() == ErrorKind::NotFound {
        // Name the namespace looked in: -N, WOOF_NAMESPACE and the current
        // directory are easy to mix up.
        let dir = path.parent().unwrap_or(Path::new("."));
        let dir = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        return Error::new(ErrorKind::NotFound, path.display().to_string())
            .detail(format!("no such woof in {}", dir.display()));
    }
    err
}

fn read_prefix(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
