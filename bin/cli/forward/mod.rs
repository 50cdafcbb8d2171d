//! `woof-forward`: moves a woof's elements to a woof on another host, acknowledged
//! and deduplicated, for ever (DESIGN §9). One thread forwards every source given
//! (or every woof of the namespace with --all) over one connection per source.

pub mod body;
mod engine_uri;
mod mqtt;
mod mqtt_in;
mod mqtt_link;
mod sink;
mod state;
mod status;
mod stream;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use woof::{Error, ErrorKind, Namespace};
use woof_net::Uri;

use crate::exit::{Failure, warn};
use crate::target::{NamespaceArg, RemoteArgs};
use body::BodyFormat;
use mqtt::{MqttConfig, MqttVersion, TlsFiles};
use state::State;
use stream::{Phase, Settings, Stream};

const EXAMPLES: &str = "\
Examples:
  woof-forward -N /var/lib/woof/edge load woof://cloud.example/srv/woof/cloud/load
  woof-forward -N /var/lib/woof/edge load mqtt://broker.example/sensors/edge1/load --format json
  woof-forward 'mqtt://broker.example/sensors/+/temp' -N /var/lib/woof/cloud temps --csv
  woof-forward -N /var/lib/woof/edge load redis://cache.example/edge1:load
  woof-forward -N /var/lib/woof/edge load nats://hub.example/sensors.edge1.load --create
  woof-forward -N /var/lib/woof/edge --all woof://cloud.example/srv/woof/cloud
  woof-forward -N /var/lib/woof/edge temps door woof://cloud.example/srv/woof/cloud/
  woof-forward -N /var/lib/woof/edge load woof://cloud.example/srv/woof/cloud/load --once
  woof-forward -N /var/lib/woof/edge --status";

/// Forward a woof's elements to a woof on another host, losing and repeating none.
///
/// Each element of SOURCE (a woof of the namespace) is put into DEST, a woof://
/// URI, in order, exactly once: the destination's woof-proxy keeps, per origin (this
/// host and the source's path), the highest source seqno it holds, in the same lock
/// as the append, and acknowledges a batch sent again without appending it. On
/// every (re)connection woof-forward asks the destination where it is and sends from
/// there; nothing it did not acknowledge is ever skipped. It runs until stopped
/// (SIGTERM or SIGINT: it waits for the batches in flight, then exits 0), and never
/// exits because the destination went away: it retries with backoff (100 ms doubling
/// to 30 s, with jitter), sends a heartbeat when idle, and gives up on a silent peer
/// after --timeout, then reconnects.
///
/// With several SOURCEs or --all, DEST is a namespace URI (woof://host/ns/path) and
/// each source goes to the woof of the same name there; a single SOURCE may also go to
/// a namespace URI ending in '/'. --all also picks up woofs created later (within a
/// second).
///
/// Elements the source's ring overwrote before they could be sent (a long outage)
/// are reported on stderr with their exact count, and counted by the destination as
/// a gap (--status shows it); they are never skipped silently. A destination that
/// refuses the elements for good (another element size or schema, no write right)
/// stops that source's forwarding with the reason, the others go on; woof-forward
/// then exits with that error's status when nothing is left to forward. A source
/// re-created with --force (a new incarnation, seqnos from 1 again) stops it too,
/// unless --new-incarnation.
///
/// One forwarder per source and destination: a second one is refused (exit 75); the
/// lock is the kernel's and dies with its holder. State for --status and the last
/// acknowledged seqno are kept in .woof/forward/ of the namespace.
///
/// An acknowledgement means the destination woof holds the elements with its own
/// durability mode: "none" survives a crash of any process, "batch" and "always"
/// a crash of the machine.
///
/// DEST may also be an engine. redis://[USER:PASSWORD@]HOST[:PORT]/KEY: each
/// element is an entry XADD KEY SEQNO-0 with fields origin, incarnation, put_time
/// and data (or json, csv); Redis refuses a replayed id itself, and the stream's
/// last entry says where to resume. Acknowledged means Redis answered: on disk
/// only as its persistence says (appendonly yes, appendfsync always for every
/// write). nats://[USER:PASSWORD@]HOST[:PORT]/SUBJECT (JetStream): each element is
/// a message with Nats-Msg-Id ORIGIN:INCARNATION:SEQNO, dropped by the stream when
/// resent within its duplicate window; the subject's last message says where to
/// resume; --create makes a stream for the subject. Acknowledged means the PubAck:
/// on disk as the server's sync_interval says; a killed server may drop the
/// last messages it acknowledged, and woof-forward resends them when it
/// reconnects. mqtt://[USER:PASSWORD@]HOST[:PORT]/TOPIC (MQTT 5, QoS 1): each
/// element is a message with user properties woof-origin, woof-incarnation,
/// woof-seqno and woof-put-time; MQTT cannot be asked what a broker has, so the
/// last seqno PUBACKed, written durably after every batch, is where it resumes,
/// and a batch in flight when the link broke is sent again (the subscriber may
/// see it twice: --status counts them as resent). Acknowledged
/// means the broker's PUBACK: mosquitto keeps it in memory, on disk at its
/// autosave or shutdown. --format json|csv sends a typed woof's elements as woof-get
/// prints them. mqtts://…[:8883] is MQTT over TLS (--tls-ca, --tls-cert,
/// --tls-key); --mqtt 3.1.1 speaks to brokers without MQTT 5 (no properties: a
/// subscriber cannot tell a resent message, nor can woof-forward from MQTT).
///
/// From MQTT into a woof: woof-forward mqtt://HOST[:PORT]/FILTER NAME subscribes
/// (QoS 1, a persistent session kept by the broker) and puts each message into
/// woof NAME, raw (exactly the element size) or with --csv/--json as woof-put would;
/// it acknowledges a message only once it is put, so the broker delivers again what
/// was not. A message carrying woof-forward's properties is recognised when it
/// comes again and is not put twice; one without them is put as new. A message that
/// cannot be put stops it (exit 65), named with its topic and unacknowledged, unless
/// --skip-bad (counted, logged, acknowledged).
#[derive(Debug, Parser)]
#[command(name = "woof-forward", version, after_help = EXAMPLES)]
pub struct Args {
    #[command(flatten)]
    pub ns: NamespaceArg,
    /// Woofs of the namespace to forward, then the destination URI
    #[arg(value_name = "SOURCE... DEST")]
    pub names: Vec<String>,
    /// Forward every woof of the namespace (and those created later) to the woofs
    /// of the same names in the namespace DEST
    #[arg(long)]
    pub all: bool,
    /// Print, per source and destination: the last acknowledged seqno, the lag, the
    /// gaps, the state, the last error and since when; then exit
    #[arg(long, conflicts_with_all = ["all", "once"])]
    pub status: bool,
    /// Forward what the sources hold now, then exit 0 (for cron); any error ends it
    /// with that error's status instead of a retry
    #[arg(long)]
    pub once: bool,
    /// Create a missing destination woof like its source (element size, history,
    /// durability, schema)
    #[arg(long)]
    pub create: bool,
    /// Fire HANDLER at the destination on each forwarded element, as `woof-put -H`
    /// would
    #[arg(short = 'H', long, value_name = "HANDLER")]
    pub handler: Option<String>,
    /// After a source was re-created (woof-create --force), forward the new one from
    /// its first element (the destination starts counting this origin afresh)
    #[arg(long)]
    pub new_incarnation: bool,
    /// Start at source seqno SEQNO instead of where the destination is; the elements
    /// skipped are counted as a gap (to move past an element the destination refuses)
    #[arg(long, value_name = "SEQNO")]
    pub skip_to: Option<u64>,
    /// Batches in flight per source before waiting for an acknowledgement
    #[arg(long, value_name = "N", default_value = "4", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub window: u64,
    /// What a message to an engine carries: the element's bytes, or for a typed
    /// woof a JSON object or CSV row as woof-get prints it [default: raw]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<BodyFormat>,
    /// From an MQTT filter into a woof: each message is a CSV record of the woof's
    /// schema
    #[arg(long, conflicts_with = "json")]
    pub csv: bool,
    /// From an MQTT filter into a woof: each message is a JSON object of the woof's
    /// schema
    #[arg(long)]
    pub json: bool,
    /// From an MQTT filter into a woof: a message that cannot be put (does not
    /// parse, wrong size) is counted, logged with its topic and acknowledged, instead
    /// of stopping with it unacknowledged
    #[arg(long)]
    pub skip_bad: bool,
    /// Send at most N elements a second per source (catching up after an outage
    /// without filling a slow link) [default: as fast as the destination acknowledges]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub rate: Option<u64>,
    /// With no element to send, check the connection this often
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = humantime::parse_duration)]
    pub heartbeat: Duration,
    /// The name this host forwards as [default: /etc/machine-id, else the host name];
    /// keep it when moving the namespace to new hardware
    #[arg(long, value_name = "NAME")]
    pub origin: Option<String>,
    /// The MQTT version to speak
    #[arg(long = "mqtt", value_enum, value_name = "VERSION", default_value = "5")]
    pub mqtt_version: MqttVersion,
    /// With mqtts://: trust the CA certificates in FILE (PEM) instead of the
    /// system's (SSL_CERT_FILE, else /etc/ssl/certs/ca-certificates.crt)
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// With mqtts://: present this client certificate (PEM), with --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// With mqtts://: the private key of --tls-cert (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let ns = args.ns.open()?;
    let state_dir = state::dir(&ns.state_dir());
    if args.status {
        return status::print(&state_dir);
    }
    // One descriptor per source (its state lock) and one per connection (at most
    // MAX_CONNECTED): --all over thousands of woofs needs more than the usual 1024.
    let _ = woof_toolkit::descriptors::raise_to_hard_limit();
    if let Some(first) = args.names.first()
        && (first.starts_with("mqtt://") || first.starts_with("mqtts://"))
    {
        return from_mqtt(&args, &ns);
    }
    if args.csv || args.json || args.skip_bad {
        return Err(Failure::usage(
            "--csv, --json and --skip-bad are for messages from MQTT (woof-forward mqtt://HOST/FILTER NAME)",
        ));
    }
    let (sources, dest) = plan(&args)?;
    let mqtt = mqtt_config(
        &args,
        args.names.last().map(std::slice::from_ref).unwrap_or(&[]),
    )?;
    let set = Settings {
        mqtt,
        once: args.once,
        origin_host: match &args.origin {
            Some(o) if !o.is_empty() && !o.contains(['\n', ':']) => o.clone(),
            Some(_) => {
                return Err(Failure::usage(
                    "--origin: a non-empty name without ':' or newlines",
                ));
            }
            None => host_id(),
        },
        handler: args.handler.clone().unwrap_or_default(),
        new_incarnation: args.new_incarnation,
        create: args.create,
        window: args.window as usize,
        heartbeat: args.heartbeat,
        options: args.remote.options(),
        skip_to: args.skip_to,
        rate: args.rate,
        format: args.format.unwrap_or(BodyFormat::Raw),
    };
    if let Some(h) = &args.handler {
        woof::name::validate("handler name", h)?;
    }
    woof_process::catch_interrupts();
    let mut streams: Vec<Stream> = Vec::new();
    let mut failed: Option<Failure> = None;
    for name in &sources {
        match open_stream(&ns, &state_dir, name, &dest, &set) {
            Ok(s) => streams.push(s),
            Err(e) => {
                // Each missing or locked source is named; the rest are forwarded.
                warn("woof-forward", &e.to_string());
                if failed.is_none() {
                    failed = Some(Failure::reported(e.kind()));
                }
            }
        }
    }
    if streams.is_empty() && !args.all {
        return Err(failed.unwrap_or_else(|| Failure::usage("nothing to forward")));
    }
    let mut engine = Engine {
        ns,
        state_dir,
        dest,
        all: args.all,
        streams,
        rescanned: Instant::now(),
        dir_mtime: None,
    };
    let end = engine.run(&set, args.once);
    for s in &mut engine.streams {
        let phase = if s.phase == Phase::Stopped {
            "stopped"
        } else {
            "exited"
        };
        s.flush_state(phase);
    }
    end?;
    match failed {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

/// `woof-forward mqtt://HOST/FILTER NAME`: messages into a woof of the namespace.
fn from_mqtt(args: &Args, ns: &Namespace) -> Result<(), Failure> {
    let [uri, name] = &args.names[..] else {
        return Err(Failure::usage(
            "from MQTT: woof-forward mqtt://HOST[:PORT]/FILTER NAME (one filter, one woof)",
        ));
    };
    if args.all
        || args.format.is_some()
        || args.create
        || args.skip_to.is_some()
        || args.rate.is_some()
    {
        return Err(Failure::usage(
            "from MQTT, only -H, --csv, --json, --skip-bad, --new-incarnation, --mqtt, --tls-* and --timeout apply",
        ));
    }
    crate::target::check_name(name)?;
    if let Some(h) = &args.handler {
        woof::name::validate("handler name", h)?;
    }
    let decode = mqtt_in::Decode {
        input: match (args.csv, args.json) {
            (true, _) => Some(woof::records::Input::Csv),
            (_, true) => Some(woof::records::Input::Json),
            _ => None,
        },
        skip_bad: args.skip_bad,
        handler: args.handler.clone(),
        new_incarnation: args.new_incarnation,
    };
    let config = mqtt_config(args, std::slice::from_ref(uri))?;
    mqtt_in::run(ns, uri, name, &decode, &config, args.remote.timeout)
}

/// `--mqtt` and `--tls-*`, the TLS files read now when one of `uris` is mqtts://
/// (a missing file is an error at once, not a retry); refused where no MQTT URI is.
fn mqtt_config(args: &Args, uris: &[String]) -> Result<MqttConfig, Failure> {
    let mqtt = uris
        .iter()
        .any(|u| u.starts_with("mqtt://") || u.starts_with("mqtts://"));
    let tls = uris.iter().any(|u| u.starts_with("mqtts://"));
    let files = TlsFiles {
        ca: args.tls_ca.clone(),
        cert: args.tls_cert.clone(),
        key: args.tls_key.clone(),
    };
    let given_tls = files.ca.is_some() || files.cert.is_some();
    if given_tls && !tls {
        return Err(Failure::usage(
            "--tls-ca, --tls-cert and --tls-key are for mqtts:// URIs",
        ));
    }
    if args.mqtt_version != MqttVersion::V5 && !mqtt {
        return Err(Failure::usage("--mqtt is for mqtt:// and mqtts:// URIs"));
    }
    let mut config = MqttConfig::new(args.mqtt_version, files);
    if tls {
        config.load_tls()?;
    }
    Ok(config)
}

/// Where DEST points: a woof (one source) or a namespace (several, --all, or '/'),
/// or an engine's stream, topic or subject (for several sources: a prefix to which
/// each source's name is added).
enum Dest {
    Woof(Uri),
    Namespace(Uri),
    Redis { uri: String, many: bool },
    Mqtt { uri: String, many: bool },
    Nats { uri: String, many: bool },
}

impl Dest {
    /// The destination of source `name`, as shown, and the sink that goes there.
    fn for_source(
        &self,
        name: &str,
        set: &Settings,
    ) -> Result<(String, Box<dyn sink::Sink>), Error> {
        let proxy = |uri: Uri| -> (String, Box<dyn sink::Sink>) {
            let shown = uri.to_string();
            let s = sink::proxy::WoofSink::new(uri, set.options.clone(), &set.handler, set.create);
            (shown, Box::new(s))
        };
        Ok(match self {
            Dest::Woof(u) => proxy(u.clone()),
            Dest::Namespace(u) => proxy(u.sibling(name)),
            Dest::Redis { uri, many } => {
                let uri = per_source(uri, *many, ':', name);
                let s = sink::redis::RedisSink::new(&uri, set.options.timeout, set.format)?;
                (s.shown().to_string(), Box::new(s))
            }
            Dest::Nats { uri, many } => {
                let uri = per_source(uri, *many, '.', name);
                let s =
                    sink::nats::NatsSink::new(&uri, set.options.timeout, set.format, set.create)?;
                (s.shown().to_string(), Box::new(s))
            }
            Dest::Mqtt { uri, many } => {
                let uri = per_source(uri, *many, '/', name);
                let s =
                    sink::mqtt::MqttSink::new(&uri, &set.mqtt, set.options.timeout, set.format)?;
                (s.shown().to_string(), Box::new(s))
            }
        })
    }
}

/// An engine's stream, subject or topic for source `name`: the URI given, or with
/// several sources that URI and the source's name joined by `sep`.
fn per_source(uri: &str, many: bool, sep: char, name: &str) -> String {
    if many {
        format!("{uri}{sep}{name}")
    } else {
        uri.to_string()
    }
}

/// The sources and the destination the arguments name.
fn plan(args: &Args) -> Result<(Vec<String>, Dest), Failure> {
    let Some((dest, sources)) = args.names.split_last() else {
        return Err(Failure::usage(
            "missing the destination: woof-forward SOURCE... DEST (a woof:// URI), or --all DEST",
        ));
    };
    let engine = ["redis://", "mqtt://", "mqtts://", "nats://"]
        .iter()
        .any(|s| dest.starts_with(s));
    if !woof_net::uri::is_uri(dest) && !engine {
        return Err(Failure::usage(format!(
            "{dest}: the destination must be a woof:// URI (woof://host/namespace/name), \
             redis://HOST/KEY, mqtt://HOST/TOPIC or nats://HOST/SUBJECT"
        )));
    }
    if !engine && args.format.is_some() {
        return Err(Failure::usage(
            "--format is for engines (redis://, mqtt://, nats://): a woof gets the elements as they are",
        ));
    }
    if args.all && !sources.is_empty() {
        return Err(Failure::usage(
            "--all forwards every woof: give only the destination namespace",
        ));
    }
    if !args.all && sources.is_empty() {
        return Err(Failure::usage(
            "no source woof: woof-forward SOURCE... DEST, or --all DEST",
        ));
    }
    for s in sources {
        crate::target::check_name(s)?;
    }
    let as_namespace = args.all || sources.len() > 1 || dest.ends_with('/');
    if engine {
        if args.handler.is_some() {
            return Err(Failure::usage("-H is for woof:// destinations"));
        }
        if args.create && !dest.starts_with("nats://") {
            return Err(Failure::usage(
                "--create is for woof:// and nats:// destinations (Redis streams and MQTT \
                 topics need no creating)",
            ));
        }
        let uri = dest.trim_end_matches('/').to_string();
        // Checked now, so a typo is a usage error, not a retry loop.
        let many = as_namespace;
        if uri.starts_with("nats://") {
            sink::nats::NatsSink::new(&uri, Duration::from_secs(1), BodyFormat::Raw, false)?;
            return Ok((sources.to_vec(), Dest::Nats { uri, many }));
        }
        if uri.starts_with("redis://") {
            sink::redis::RedisSink::new(&uri, Duration::from_secs(1), BodyFormat::Raw)?;
            return Ok((sources.to_vec(), Dest::Redis { uri, many }));
        }
        mqtt::MqttUri::parse(&uri)?;
        if uri.contains(['+', '#']) {
            return Err(Failure::usage(format!(
                "{uri}: a topic to publish to has no wildcards (+, #)"
            )));
        }
        return Ok((sources.to_vec(), Dest::Mqtt { uri, many }));
    }
    let dest = if as_namespace {
        // A namespace URI: parse it as the URI of a woof in it.
        let probe = format!("{}/_", dest.trim_end_matches('/'));
        Dest::Namespace(Uri::parse(&probe).map_err(|e| {
            Failure::new(
                e.kind(),
                format!(
                    "{dest}: not a namespace URI: {}",
                    e.detail_text().unwrap_or("")
                ),
            )
        })?)
    } else {
        Dest::Woof(Uri::parse(dest)?)
    };
    Ok((sources.to_vec(), dest))
}

fn open_stream(
    ns: &Namespace,
    state_dir: &std::path::Path,
    name: &str,
    dest: &Dest,
    set: &Settings,
) -> Result<Stream, Error> {
    let mut source = ns.open_woof(name)?;
    // Only read: the mapping is enough, and --all over thousands of woofs would
    // run out of descriptors otherwise.
    source.close_descriptor();
    let (shown, sink) = dest.for_source(name, set)?;
    let state = State::lock(state_dir, name, &shown)?;
    Ok(Stream::new(
        name,
        source,
        shown,
        sink,
        &set.origin_host,
        state,
    ))
}

struct Engine {
    ns: Namespace,
    state_dir: PathBuf,
    dest: Dest,
    all: bool,
    streams: Vec<Stream>,
    rescanned: Instant,
    /// The namespace directory's modification time at the last rescan.
    dir_mtime: Option<std::time::SystemTime>,
}

/// How often --all reads the whole namespace directory again; in between, a change
/// of its modification time (a woof created or renamed into place) starts a
/// rescan at the next round.
const RESCAN: Duration = Duration::from_secs(10);
/// Most streams connected at once. Beyond it (--all over a namespace of thousands
/// of woofs), a caught-up stream lets its connection go when another needs one, or
/// after `QUIET` without sending, and connects again on its next element: every
/// source then costs one descriptor (its state lock; the woof is only mapped).
const MAX_CONNECTED: usize = 256;
const QUIET: Duration = Duration::from_secs(5);
/// Longest sleep of several streams waiting for their sources (one stream sleeps on
/// its woof's futex and wakes at the put).
const POLL_MAX: Duration = Duration::from_millis(20);

impl Engine {
    fn run(&mut self, set: &Settings, once: bool) -> Result<(), Failure> {
        if self.all {
            self.rescan(set);
        }
        let mut idle_rounds: u32 = 0;
        loop {
            if woof_process::interrupted().is_some() {
                return self.drain();
            }
            if self.all && (self.rescanned.elapsed() >= RESCAN || self.dir_changed()) {
                self.rescan(set);
            }
            let progress = self.pump_all(set);
            if once {
                if let Some(e) = self.streams.iter().find_map(|s| s.error.as_ref()) {
                    // Already said on stderr, with the source's name.
                    return Err(Failure::reported(e.kind()));
                }
                if self.streams.iter().all(Stream::caught_up) {
                    return Ok(());
                }
            }
            let live = self
                .streams
                .iter()
                .filter(|s| s.phase != Phase::Stopped)
                .count();
            if live == 0 && !self.all && !self.streams.is_empty() {
                // Every source was refused for good: say why (each was logged).
                let kind = self.streams[0]
                    .error
                    .as_ref()
                    .map_or(ErrorKind::BadData, |e| e.kind().clone());
                return Err(Failure::reported(&kind));
            }
            if progress {
                idle_rounds = 0;
                continue;
            }
            idle_rounds = idle_rounds.saturating_add(1);
            self.wait(set, idle_rounds);
        }
    }

    /// Pumps every stream; with more streams than `MAX_CONNECTED`, only that many
    /// hold a connection at once (see there).
    fn pump_all(&mut self, set: &Settings) -> bool {
        let mut progress = false;
        if self.streams.len() <= MAX_CONNECTED {
            for s in &mut self.streams {
                progress |= s.pump(set);
            }
            return progress;
        }
        let mut connected = self.streams.iter().filter(|s| s.is_connected()).count();
        let mut wanting = 0usize;
        for s in &mut self.streams {
            if s.wants_connection() {
                if connected >= MAX_CONNECTED {
                    wanting += 1;
                    continue;
                }
                connected += 1;
            }
            progress |= s.pump(set);
        }
        for s in &mut self.streams {
            if s.is_connected() && s.caught_up() && (wanting > 0 || s.quiet_for() >= QUIET) {
                s.release();
                wanting = wanting.saturating_sub(1);
                progress = true;
            }
        }
        progress
    }

    /// Sleeps until a source may have something new, a retry is due or a heartbeat.
    fn wait(&self, set: &Settings, idle_rounds: u32) {
        let now = Instant::now();
        let mut until = now + set.heartbeat;
        for s in &self.streams {
            if let Phase::Waiting(due) = s.phase {
                until = until.min(due);
            }
            if let Some(due) = s.throttled(set) {
                until = until.min(due);
            }
        }
        let left = until
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        let live: Vec<&Stream> = self
            .streams
            .iter()
            .filter(|s| s.phase == Phase::Live)
            .collect();
        if let [one] = live[..]
            && self.streams.len() == 1
            && one.throttled(set).is_none()
        {
            one.source().wait_after(one.waits_after(), Some(left));
            return;
        }
        // Several sources: poll, quickly after recent traffic, slower when idle.
        let step =
            Duration::from_millis(u64::from(idle_rounds.min(20))).max(Duration::from_millis(1));
        std::thread::sleep(step.min(POLL_MAX).min(left));
    }

    fn dir_mtime(&self) -> Option<std::time::SystemTime> {
        std::fs::metadata(self.ns.dir())
            .and_then(|m| m.modified())
            .ok()
    }

    fn dir_changed(&self) -> bool {
        self.dir_mtime() != self.dir_mtime
    }

    /// Adds a stream for each woof of the namespace not forwarded yet.
    fn rescan(&mut self, set: &Settings) {
        self.rescanned = Instant::now();
        self.dir_mtime = self.dir_mtime();
        for s in &mut self.streams {
            s.revisit();
        }
        let Ok(entries) = std::fs::read_dir(self.ns.dir()) else {
            return;
        };
        let known: std::collections::HashSet<&str> =
            self.streams.iter().map(|s| s.name.as_str()).collect();
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| woof::name::validate("woof name", n).is_ok())
            .filter(|n| !known.contains(n.as_str()))
            .collect();
        names.sort();
        for name in names {
            match open_stream(&self.ns, &self.state_dir, &name, &self.dest, set) {
                Ok(s) => self.streams.push(s),
                // Not a woof (no signature) is not worth a word; anything else is.
                Err(e) if *e.kind() == ErrorKind::Corrupt => {}
                Err(e) => warn("woof-forward", &e.to_string()),
            }
        }
    }

    /// Stopping: wait (up to the timeout) for the batches in flight to be
    /// acknowledged, so a restart resends as little as possible. Nothing is lost
    /// either way.
    fn drain(&mut self) -> Result<(), Failure> {
        for s in &mut self.streams {
            s.settle();
        }
        Ok(())
    }
}

/// This host's name as an origin: systemd's machine id (stable across renames and
/// address changes), else the host name.
fn host_id() -> String {
    if let Ok(id) = std::fs::read_to_string("/etc/machine-id") {
        let id = id.trim();
        if !id.is_empty() {
            return id.to_string();
        }
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
