//! The state on PostgreSQL (`--state-url`), against a real server each test starts for itself
//! (`common/postgres.rs`), with the sim provider:
//! - a season goes up and down with its state in PostgreSQL, read the same from another host
//!   (another state dir), and no SQLite state is made;
//! - `state migrate` copies a SQLite state row for row, refuses a state that is not empty, and
//!   the copy is then worked on as the original was;
//! - a schema newer than the binary is refused before anything is written; the lock is
//!   PostgreSQL's, and a command waiting for it gives up naming the holder (exit 3);
//! - a URL that is not PostgreSQL's is a usage error, and a password never shows;
//! - over TLS the server's certificate is verified: against the URL's `sslrootcert`, the
//!   state works with a server that takes TLS only; without it, nothing is written.

use crate::common;

use std::time::Duration;

use common::postgres::Postgres;
use common::{Project, stderr};

fn with<'a>(args: &[&'a str], url: &'a str) -> Vec<&'a str> {
    [args, &["--state-url", url]].concat()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn a_season_goes_up_and_down_with_its_state_in_postgresql_read_the_same_from_any_host() {
    let pg = Postgres::start();
    let url = pg.database("season");
    let p = Project::fast();
    p.ok(&with(&["up", "--yes"], &url));
    assert!(
        !p.state_dir().join("state.db").exists(),
        "the SQLite state is not used"
    );
    let listed = json(&p.ok(&with(&["state", "list", "--output", "json"], &url)));
    assert_eq!(listed.as_array().unwrap().len(), p.inventory_names().len());
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "ready")
    );

    // Another host: its own state dir, the same database.
    let elsewhere = tempfile::tempdir().unwrap();
    let other_dir = elsewhere.path().to_str().unwrap();
    let here = json(&p.ok(&with(&["status", "--output", "json"], &url)));
    let there = json(&p.ok(&with(
        &["status", "--output", "json", "--state-dir", other_dir],
        &url,
    )));
    assert_eq!(here["owner"], there["owner"]);
    assert_eq!(here["serial"], there["serial"]);
    assert_eq!(here["events"], there["events"]);

    p.ok(&with(&["down", "--yes"], &url));
    assert!(p.inventory().iter().all(|(_, _, gone)| gone.is_some()));
    let listed = json(&p.ok(&with(&["state", "list", "--output", "json"], &url)));
    assert_eq!(listed, serde_json::json!([]));
    let journal = json(&p.ok(&with(
        &["state", "journal", "--limit", "1000", "--output", "json"],
        &url,
    )));
    let ops = |op: &str| {
        journal
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["op"] == op && e["outcome"] == "ok")
            .count()
    };
    assert!(
        ops("create") > 0 && ops("create") == ops("delete"),
        "{journal:#}"
    );
}

#[test]
fn state_migrate_copies_a_sqlite_state_row_for_row_and_only_into_an_empty_one() {
    let pg = Postgres::start();
    let url = pg.database("migrated");
    let p = Project::fast();
    p.ok(&["up", "--yes", "--event", "cup-final"]);
    let list = p.ok(&["state", "list", "--output", "json"]);
    let journal = p.ok(&["state", "journal", "--limit", "1000", "--output", "json"]);
    let owner = json(&p.ok(&["status", "--output", "json"]))["owner"].clone();

    let copied = json(&p.ok(&["state", "migrate", "--to", &url, "--output", "json"]));
    assert_eq!(
        copied["resources"].as_u64(),
        Some(json(&list).as_array().unwrap().len() as u64)
    );
    assert_eq!(
        p.ok(&with(&["state", "list", "--output", "json"], &url)),
        list
    );
    assert_eq!(
        p.ok(&with(
            &["state", "journal", "--limit", "1000", "--output", "json"],
            &url
        )),
        journal
    );
    assert_eq!(
        json(&p.ok(&with(&["status", "--output", "json"], &url)))["owner"],
        owner,
        "the copy keeps the owner its resources are tagged with"
    );

    // Only into an empty state.
    let again = p.run(&["state", "migrate", "--to", &url]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already holds"),
        "{}",
        stderr(&again)
    );

    // The copy is worked on as the original was: the rest goes up, then all comes down,
    // through the same provider (the sim keeps its inventory in the state dir).
    p.ok(&with(&["up", "--yes"], &url));
    p.ok(&with(&["down", "--yes"], &url));
    assert!(p.inventory().iter().all(|(_, _, gone)| gone.is_some()));
    assert_eq!(
        json(&p.ok(&with(&["state", "list", "--output", "json"], &url))),
        serde_json::json!([])
    );
}

#[test]
fn a_newer_schema_is_refused_and_a_held_lock_names_its_holder() {
    let pg = Postgres::start();
    let url = pg.database("guarded");
    let p = Project::fast();
    p.ok(&with(&["up", "--yes", "--event", "derby-night"], &url));

    // The lock is PostgreSQL's: held here, a command gives up after its timeout, exit 3.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let held = rt
        .block_on(orchestrate::state::PgLock::acquire(
            &url,
            Duration::from_secs(5),
            "the test",
        ))
        .unwrap();
    let waited = p.run(&with(&["down", "--yes", "--lock-timeout", "1s"], &url));
    assert_eq!(waited.status.code(), Some(3), "{}", stderr(&waited));
    assert!(
        stderr(&waited).contains(&format!("pid {}", std::process::id()))
            && stderr(&waited).contains("the test"),
        "{}",
        stderr(&waited)
    );
    let unlock = p.run(&with(&["state", "unlock"], &url));
    assert_eq!(unlock.status.code(), Some(3));
    drop(held);
    p.ok(&with(&["state", "unlock"], &url));

    // A binary older than the schema reads nothing and writes nothing.
    let psql = |sql: &str| pg.sql(&url, sql);
    psql("UPDATE orchestrate_meta SET value = '99' WHERE key = 'schema'");
    let serial = psql("SELECT value FROM orchestrate_meta WHERE key = 'serial'");
    let refused = p.run(&with(&["down", "--yes"], &url));
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("schema version 99; this orchestrate reads up to 1"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        psql("SELECT value FROM orchestrate_meta WHERE key = 'serial'"),
        serial
    );
    psql("UPDATE orchestrate_meta SET value = '1' WHERE key = 'schema'");
    p.ok(&with(&["down", "--yes"], &url));
}

#[test]
fn a_state_url_is_postgresqls_and_its_password_never_shows() {
    let p = Project::fast();
    let out = p.run(&["status", "--state-url", "mysql://u:hunter2@127.0.0.1/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not a PostgreSQL URL") && !stderr(&out).contains("hunter2"),
        "{}",
        stderr(&out)
    );
    // Nothing listens there: the error names the database without the password.
    let port = common::free_port();
    let url = format!("postgres://orch:hunter2@127.0.0.1:{port}/season");
    let out = p.run(&["status", "--state-url", &url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("postgres://orch@127.0.0.1:{port}/season"))
            && !stderr(&out).contains("hunter2"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tls_to_postgresql_is_verified_against_the_urls_root_certificate() {
    let pg = Postgres::start_with_tls();
    let url = pg.database("secure");
    let p = Project::fast();
    // The server takes TLS only, with a certificate of the test's own CA.
    let plain = p.run(&with(&["status"], &format!("{url}?sslmode=disable")));
    assert_eq!(plain.status.code(), Some(1), "{}", stderr(&plain));
    assert!(
        stderr(&plain).contains("no encryption"),
        "{}",
        stderr(&plain)
    );
    // Not trusted by the system's roots: refused, nothing written.
    let unverified = p.run(&with(&["up", "--yes"], &format!("{url}?sslmode=require")));
    assert_eq!(unverified.status.code(), Some(1), "{}", stderr(&unverified));
    assert!(
        stderr(&unverified).contains("UnknownIssuer")
            && stderr(&unverified).contains("sslrootcert=PATH"),
        "{}",
        stderr(&unverified)
    );
    assert!(p.inventory().is_empty());
    // With the CA: the season goes up and down over TLS.
    let trusted = format!("{url}?sslmode=require&sslrootcert={}", pg.ca().display());
    p.ok(&with(&["up", "--yes", "--event", "derby-night"], &trusted));
    let listed = json(&p.ok(&with(&["state", "list", "--output", "json"], &trusted)));
    assert_eq!(listed.as_array().unwrap().len(), p.inventory_names().len());
    p.ok(&with(&["down", "--yes"], &trusted));
}
