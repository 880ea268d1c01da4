//! The sections of a profile (encoder, origin, CDN, VOD, monitoring) as the file gives them
//! and as a validated profile carries them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::bitrate::Bitrate;

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EncoderSpec {
    pub input: InputSpec,
    #[serde(default)]
    pub codec: Codec,
    /// Target segment duration, e.g. `2s`.
    #[serde(default = "default_segment")]
    pub segment_duration: String,
    #[serde(default)]
    pub redundancy: Redundancy,
    /// What runs the ladder on a cloud provider: its managed encoding service (`managed`,
    /// MediaLive on aws) or a virtual machine running ffmpeg (`instance`, EC2 on aws).
    #[serde(default)]
    pub engine: Engine,
    /// A clip (s3:// or https://) shown, looped, from the channel's start until the show
    /// starts and again once it ends; the switches to the feed and back are scheduled at the
    /// event's start and end (MediaLive: aws, `engine: managed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slate: Option<String>,
    pub ladder: Vec<Rendition>,
}

fn default_segment() -> String {
    "2s".into()
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    #[serde(rename = "type")]
    pub kind: InputKind,
    /// File path for `file`; listen address for `srt`/`rtmp` (a free port is chosen when omitted).
    #[serde(default)]
    pub address: Option<String>,
    /// The networks (CIDR) allowed to push to a cloud push input (`rtmp` on aws, where the
    /// input's security group admits only these). The local provider listens on loopback and
    /// does not read it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// A second contribution of the same type, which the encoder switches to by itself when
    /// this one is lost, and back when it returns (MediaLive's automatic input failover).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupInput>,
}

/// The backup contribution: its own address (none for an `rtmp` push, whose address the
/// service chooses), the same type and networks as the primary.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    Testsrc,
    File,
    Srt,
    Rtmp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Codec {
    #[default]
    H264,
    H265,
}

impl Codec {
    /// As profiles write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::H264 => "h264",
            Codec::H265 => "h265",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    #[default]
    Managed,
    Instance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Redundancy {
    #[default]
    Single,
    Dual,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rendition {
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// Bits per second: `3000k`, `4.5M` or a plain number.
    pub bitrate: Bitrate,
    #[serde(default = "default_fps")]
    pub fps: f64,
}

fn default_fps() -> f64 {
    30.0
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OriginSpec {
    #[serde(default = "default_packaging")]
    pub packaging: Vec<Packaging>,
    /// How much of the live stream stays seekable, e.g. `2h`.
    #[serde(default = "default_dvr")]
    pub dvr_window: String,
    /// Keep every segment for the VOD hand-off.
    #[serde(default = "yes")]
    pub archive: bool,
    /// Encrypt the live stream at the origin, with keys from a SPEKE key server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drm: Option<LiveDrmSpec>,
}

impl Default for OriginSpec {
    fn default() -> Self {
        Self {
            packaging: default_packaging(),
            dvr_window: default_dvr(),
            archive: true,
            drm: None,
        }
    }
}

/// The live stream's encryption: the origin asks the key server (SPEKE) for its keys and the
/// DRM systems' signalling.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiveDrmSpec {
    pub scheme: DrmScheme,
    /// The key server's SPEKE endpoint.
    pub url: String,
    /// The DRM systems players use; none for `aes-128`, whose key players fetch themselves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub systems: Vec<DrmSystem>,
    /// A new key this often, e.g. `10m`; the same key for the whole show without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_rotation: Option<crate::model::duration::HumanDuration>,
}

fn default_packaging() -> Vec<Packaging> {
    vec![Packaging::Hls]
}
fn default_dvr() -> String {
    "0s".into()
}
fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Packaging {
    Hls,
    Dash,
    Cmaf,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CdnSpec {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// One distribution shared by every event of the profile instead of one per event.
    #[serde(default)]
    pub shared: bool,
}

impl Default for CdnSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            shared: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VodSpec {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub formats: Vec<Packaging>,
    #[serde(default)]
    pub drm: Option<DrmSpec>,
    /// Keep only what was on air inside the scheduled start and end (else the whole window
    /// the ingest shows content for).
    #[serde(default)]
    pub trim: bool,
    /// Packaging runs tried before the hand-off gives up (the archive is kept).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Longest the live resources wait for a verified VOD after end + grace before they are
    /// torn down anyway (the archive is kept).
    #[serde(default = "default_handoff_timeout")]
    #[schemars(with = "String")]
    pub timeout: crate::model::duration::HumanDuration,
}

impl Default for VodSpec {
    fn default() -> Self {
        Self {
            enabled: false,
            formats: Vec::new(),
            drm: None,
            trim: false,
            attempts: default_attempts(),
            timeout: default_handoff_timeout(),
        }
    }
}

fn default_attempts() -> u32 {
    3
}

fn default_handoff_timeout() -> crate::model::duration::HumanDuration {
    crate::model::duration::HumanDuration(std::time::Duration::from_secs(30 * 60))
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DrmSpec {
    pub scheme: DrmScheme,
    #[serde(default)]
    pub key_provider: KeyProvider,
    /// Key server for `speke`.
    #[serde(default)]
    pub url: Option<String>,
    /// A new key for the VOD instead of the live stream's.
    #[serde(default)]
    pub rotate_keys: bool,
    /// The DRM systems players get signalling for (a `pssh` box each in the init segments):
    /// from the key server with `speke`, made by the packager with `local`. None: the common
    /// signalling ClearKey players read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub systems: Vec<DrmSystem>,
}

/// A DRM system a protected VOD signals.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum DrmSystem {
    Widevine,
    Playready,
    Fairplay,
}

impl DrmSystem {
    /// As profiles write it.
    pub fn as_str(self) -> &'static str {
        match self {
            DrmSystem::Widevine => "widevine",
            DrmSystem::Playready => "playready",
            DrmSystem::Fairplay => "fairplay",
        }
    }

    /// The DASH-IF system id (`8-4-4-4-12`).
    pub fn system_id(self) -> &'static str {
        match self {
            DrmSystem::Widevine => "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",
            DrmSystem::Playready => "9a04f079-9840-4286-ab92-e65be0885f95",
            DrmSystem::Fairplay => "94ce86fb-07ff-4f43-adb8-93d2fa968ca2",
        }
    }

    /// The name Shaka Packager's `--protection_systems` takes.
    pub fn packager_name(self) -> &'static str {
        match self {
            DrmSystem::Widevine => "Widevine",
            DrmSystem::Playready => "PlayReady",
            DrmSystem::Fairplay => "FairPlay",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DrmScheme {
    None,
    Cenc,
    Cbcs,
    #[serde(rename = "aes-128")]
    Aes128,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KeyProvider {
    #[default]
    Local,
    Speke,
}

/// What is watched while the event is on air, and when it alerts.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringSpec {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The tiers probed [default: all four].
    #[serde(default = "all_tiers")]
    pub tiers: Vec<crate::metric::Tier>,
    /// A rendition's playlist that gained no segment for this many target durations is stale
    /// (RFC 8216 asks a server to publish within 1.5).
    #[serde(default = "default_stale_after")]
    pub stale_after: f64,
    /// Keep the built-in rules (encoder down, stale playlist, edge errors, viewer stalls)
    /// beside `rules`.
    #[serde(default = "yes")]
    pub default_rules: bool,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// What is done when an alert fires: an action, a notification, or a question to a hook.
    #[serde(default)]
    pub actions: Vec<ReactionSpec>,
    /// Where `notify` sends, by name.
    #[serde(default)]
    pub notifiers: BTreeMap<String, NotifierSpec>,
    /// External decision hooks, by name: they are sent the alert and the recent signals and
    /// answer with the action to take.
    #[serde(default)]
    pub hooks: BTreeMap<String, HookSpec>,
    #[serde(default)]
    pub guardrails: GuardrailSpec,
    /// The content tier's sampling: how often, which renditions, and the CPU it may use.
    #[serde(default)]
    pub content: ContentSpec,
}

/// The content tier: samples of the stream taken at the edge and analysed with ffmpeg's own
/// detectors (black, freeze, silence, loudness, a sync mark's A/V offset) and checked against
/// the ladder (bitrate, resolution).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentSpec {
    /// Segments between samples; each sample analyses the segments published since the last
    /// one (at most this many), so that the whole stream is seen while the budget allows.
    #[serde(default = "default_content_every")]
    pub every: u32,
    /// `lowest` analyses the rendition cheapest to decode; `all` analyses every rendition.
    /// The bitrate and resolution of every rendition are checked either way (no decoding).
    #[serde(default)]
    pub renditions: ContentRenditions,
    /// CPU this profile's content analysis may use on the monitor host, in cores, across
    /// all its events and regions: samples wait (and later ones cover less) rather than go
    /// over it.
    #[serde(default = "default_cpu_budget")]
    pub cpu_budget: f64,
}

impl Default for ContentSpec {
    fn default() -> Self {
        Self {
            every: default_content_every(),
            renditions: ContentRenditions::default(),
            cpu_budget: default_cpu_budget(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ContentRenditions {
    #[default]
    Lowest,
    All,
}

fn default_content_every() -> u32 {
    3
}

fn default_cpu_budget() -> f64 {
    0.5
}

impl Default for MonitoringSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            tiers: all_tiers(),
            stale_after: default_stale_after(),
            default_rules: true,
            rules: Vec::new(),
            actions: Vec::new(),
            notifiers: BTreeMap::new(),
            hooks: BTreeMap::new(),
            guardrails: GuardrailSpec::default(),
            content: ContentSpec::default(),
        }
    }
}

/// One reaction to alerts: `on` these rules, `do` this.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactionSpec {
    /// The rules whose alerts it reacts to; `*` for every rule.
    pub on: Vec<String>,
    /// Only alerts on this tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<crate::metric::Tier>,
    #[serde(rename = "do")]
    pub action: ReactionKind,
    /// The notifier, for `do: notify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<String>,
    /// The hook that decides, for `do: ask`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<String>,
    /// Wait for `orchestrate approve ID` before acting.
    #[serde(default)]
    pub require_approval: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ReactionKind {
    /// Switch the edge to another pipeline.
    Failover,
    /// Restart the failing pipeline's encoder.
    Restart,
    /// Add capacity where the alert is.
    Scale,
    /// Tell someone (on firing and on resolved).
    Notify,
    /// Ask an external hook what to do.
    Ask,
}

/// A webhook (POST, signed with HMAC-SHA256) or a command (the JSON on stdin, no shell).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifierSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    /// The environment variable holding the webhook's signing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// A program and its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default = "default_call_timeout")]
    #[schemars(with = "String")]
    pub timeout: crate::model::duration::HumanDuration,
}

/// An external decision hook: an HTTP endpoint (POST) or a command (the JSON on stdin, the
/// answer on stdout).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The environment variable holding a bearer token for `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// How much of the recent signals is sent.
    #[serde(default = "default_hook_window")]
    #[schemars(with = "String")]
    pub window: crate::model::duration::HumanDuration,
    #[serde(default = "default_call_timeout")]
    #[schemars(with = "String")]
    pub timeout: crate::model::duration::HumanDuration,
}

/// Limits on what the actions may do to a running event.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardrailSpec {
    /// The same action on the same target is not taken again within this time.
    #[serde(default = "default_cooldown")]
    #[schemars(with = "String")]
    pub cooldown: crate::model::duration::HumanDuration,
    /// At most this many actions per event and region within `per`.
    #[serde(default = "default_max_actions")]
    pub max_actions: u32,
    #[serde(default = "default_actions_per")]
    #[schemars(with = "String")]
    pub per: crate::model::duration::HumanDuration,
}

impl Default for GuardrailSpec {
    fn default() -> Self {
        Self {
            cooldown: default_cooldown(),
            max_actions: default_max_actions(),
            per: default_actions_per(),
        }
    }
}

fn secs(s: u64) -> crate::model::duration::HumanDuration {
    crate::model::duration::HumanDuration(std::time::Duration::from_secs(s))
}
fn default_call_timeout() -> crate::model::duration::HumanDuration {
    secs(5)
}
fn default_hook_window() -> crate::model::duration::HumanDuration {
    secs(60)
}
fn default_cooldown() -> crate::model::duration::HumanDuration {
    secs(120)
}
fn default_max_actions() -> u32 {
    5
}
fn default_actions_per() -> crate::model::duration::HumanDuration {
    secs(600)
}

fn all_tiers() -> Vec<crate::metric::Tier> {
    crate::metric::Tier::ALL.to_vec()
}

fn default_stale_after() -> f64 {
    1.5
}

/// One alerting rule: a threshold (`above` or `below`, with `clear` for hysteresis) or an
/// anomaly detector, held `for` a while before it fires.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    /// The signal it reads, e.g. `playlist_age_s`.
    pub signal: crate::metric::Metric,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    /// Where a firing threshold alert resolves [default: the threshold itself].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<AnomalySpec>,
    /// How long the condition must hold before the alert fires.
    #[serde(default, rename = "for")]
    #[schemars(with = "String")]
    pub hold: crate::model::duration::HumanDuration,
    #[serde(default)]
    pub severity: Severity,
    /// Only this rendition's series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendition: Option<String>,
    /// Only this resource's series (`encoder-a`, `origin`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnomalySpec {
    pub method: AnomalyMethod,
    /// `zscore`: the rolling window the mean and deviation are taken over.
    #[serde(default = "default_anomaly_window")]
    #[schemars(with = "String")]
    pub window: crate::model::duration::HumanDuration,
    /// `ewma`: the weight of each new value.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// How many deviations from the mean is anomalous.
    #[serde(default = "default_sigma")]
    pub sigma: f64,
    /// Values seen before anything is called anomalous.
    #[serde(default = "default_min_samples")]
    pub min_samples: u32,
}

fn default_anomaly_window() -> crate::model::duration::HumanDuration {
    crate::model::duration::HumanDuration(std::time::Duration::from_secs(60))
}
fn default_alpha() -> f64 {
    0.1
}
fn default_sigma() -> f64 {
    3.0
}
fn default_min_samples() -> u32 {
    10
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyMethod {
    Zscore,
    Ewma,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// The rules every profile has unless `default_rules: false`; `monitor::rules`
/// builds them.
pub const BUILT_IN_RULES: &[&str] = &[
    "encoder-down",
    "encoder-alerts",
    "playlist-stale",
    "playlist-unreachable",
    "edge-errors",
    "edge-lag",
    "viewer-stall",
    "content-black",
    "content-freeze",
    "content-silence",
    "av-offset",
    "rendition-resolution",
    "rendition-bitrate",
];
