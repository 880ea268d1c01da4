//! The integration tests, in one binary so that the crate and the AWS SDK are linked once:
//! a module per area. Each runs the real binary, real servers (ffmpeg, Shaka Packager,
//! moto_server) and real HTTP on loopback, as `common` sets them up.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod actions;
mod aws;
mod aws_doctor;
mod aws_drm;
mod aws_dual;
mod aws_iam;
mod aws_medialive;
mod aws_shared;
mod aws_shared_vod;
mod aws_update;
mod cli;
mod config_errors;
mod console;
mod content;
mod executor;
mod fuzz_parsers;
mod handoff;
mod local;
mod monitor;
mod phase_properties;
mod plan;
mod plan_properties;
mod provider_seam;
#[cfg(feature = "bench")]
mod season;
mod shared;
mod shared_state;
mod speke;
mod tick;
mod vod;
