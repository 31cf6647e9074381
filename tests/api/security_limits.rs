//! Hardening (issue 24): import caps, secrets and their minimum lengths,
//! the data dir's permissions, file downloads' scope and headers, and
//! `/metrics` behind a token.

use crate::helpers::*;
use reqwest::Method;
use secrecy::SecretString;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tgdesk::App;

const METRICS_TOKEN: &str = "metrics-token-for-tests-0123456789";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file and directory under `dir` with a mode others or the group may use.
fn open_to_others(dir: &Path) -> Vec<(String, u32)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if mode(&path) & 0o077 != 0 {
            found.push((path.display().to_string(), mode(&path)));
        }
        if path.is_dir() {
            found.extend(open_to_others(&path));
        }
    }
    found
}

#[tokio::test]
async fn an_import_of_more_lines_than_the_cap_is_refused_naming_the_cap() {
    // Arrange: half a million and one tiny lines (1.5 MB).
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = "{}\n".repeat(500_001).into_bytes();

    // Act
    let reply = app.post_raw("/api/accounts/import", &admin, "application/x-ndjson", body).await;

    // Assert
    let error = reply.expect(413);
    assert!(error["error"]["message"].as_str().unwrap().contains("500000 lines"), "{error}");
}

#[tokio::test]
async fn an_import_report_keeps_the_first_reasons_and_counts_the_rest() {
    // Arrange: 1,500 lines, each without a phone.
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = "{}\n".repeat(1_500).into_bytes();

    // Act
    let report = app.post_raw("/api/accounts/import", &admin, "application/x-ndjson", body).await.expect(200);

    // Assert
    let kept = report["rejected"].as_array().unwrap();
    assert_eq!(kept.len(), 1_000);
    assert_eq!((kept[0]["line"].as_u64(), kept[999]["line"].as_u64()), (Some(1), Some(1_000)));
    assert_eq!(report["rejected_count"], 1_500);
}

#[tokio::test]
async fn short_or_empty_secrets_stop_the_server_from_starting() {
    for (jwt, operator) in [("too-short", "operator-token-for-tests"), (JWT_SECRET, ""), (JWT_SECRET, "short")] {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_for(dir.path());
        config.jwt_secret = Some(SecretString::from(jwt));
        config.operator_token = Some(SecretString::from(operator));

        // Act
        let built = App::build(config).await;

        // Assert
        assert!(built.is_err(), "jwt {jwt:?} and operator token {operator:?} were accepted");
    }
}

#[tokio::test]
async fn an_empty_or_truncated_secret_file_is_an_error_not_an_empty_key() {
    for content in ["", "0123abcd"] {
        // Arrange
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("jwt.secret"), content).unwrap();
        std::fs::set_permissions(dir.path().join("jwt.secret"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut config = config_for(dir.path());
        config.jwt_secret = None;

        // Act
        let built = App::build(config).await;

        // Assert
        assert!(built.is_err(), "a jwt.secret of {content:?} was accepted");
    }
}

#[tokio::test]
async fn the_data_dir_and_everything_in_it_are_for_the_owner_only() {
    // Arrange: a data dir the server creates itself.
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let mut config = config_for(&data);
    config.jwt_secret = None;
    let holder = tempfile::tempdir().unwrap();

    // Act: start, use the queue and blobs, stop.
    let app = spawn_with(holder, config).await;
    let admin = app.admin().await;
    app.post_raw("/api/files?name=a.txt", &admin, "text/plain", b"hello".to_vec()).await.expect(201);
    app.stop().await;

    // Assert
    assert_eq!(mode(&data), 0o700);
    assert_eq!(open_to_others(&data), Vec::<(String, u32)>::new());
}

#[tokio::test]
async fn a_key_file_readable_by_others_stops_the_server_from_starting() {
    // Arrange: a data dir whose session key was made readable by everyone.
    let dir = tempfile::tempdir().unwrap();
    drop(App::build(config_for(dir.path())).await.expect("first start"));
    std::fs::set_permissions(dir.path().join("session.key"), std::fs::Permissions::from_mode(0o644)).unwrap();

    // Act
    let built = App::build(config_for(dir.path())).await;

    // Assert
    assert!(built.is_err(), "a world-readable session.key was accepted");
}

#[tokio::test]
async fn leaders_download_only_files_of_their_own_team() {
    // Arrange: an agent of l2's team uploads a file.
    let app = spawn_app().await;
    let admin = app.admin().await;
    let l1 = app.create_user(&admin, "l1", "leader", None).await;
    let l2 = app.create_user(&admin, "l2", "leader", None).await;
    app.create_user(&admin, "a1", "agent", Some(&l1)).await;
    app.create_user(&admin, "a2", "agent", Some(&l2)).await;
    let a2 = app.login("demo", "a2", PASSWORD).await;
    let file = app.post_raw("/api/files?name=notes.txt", &a2, "text/plain", b"team notes".to_vec()).await.expect(201);
    let path = format!("/api/files/{}", file["id"].as_str().unwrap());

    // Act
    let other_leader = app.get(&path, &app.login("demo", "l1", PASSWORD).await).await.status.as_u16();
    let own_leader = app.get(&path, &app.login("demo", "l2", PASSWORD).await).await.status.as_u16();
    let admins = app.get(&path, &admin).await.status.as_u16();

    // Assert
    assert_eq!((other_leader, own_leader, admins), (404, 200, 200));
}

#[tokio::test]
async fn stored_files_are_never_sniffed_and_only_allow_listed_images_are_inline() {
    // Arrange: an HTML page uploaded as a file.
    let app = spawn_app().await;
    let admin = app.admin().await;
    let file = app.post_raw("/api/files?name=page.html", &admin, "text/html", b"<script>1</script>".to_vec()).await;
    let id = file.expect(201)["id"].as_str().unwrap().to_owned();

    // Act
    let resp = app.http.get(format!("{}/api/files/{id}", app.base)).bearer_auth(&admin).send().await.unwrap();

    // Assert
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert!(resp.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
}

#[tokio::test]
async fn metrics_ask_for_their_token_when_one_is_configured() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_for(dir.path());
    config.metrics_token = Some(SecretString::from(METRICS_TOKEN));
    let app = spawn_with(dir, config).await;

    // Act
    let anonymous = app.call(Method::GET, "/metrics", None, None).await.status.as_u16();
    let wrong = app.call(Method::GET, "/metrics", Some("not-the-metrics-token"), None).await.status.as_u16();
    let resp = app.http.get(format!("{}/metrics", app.base)).bearer_auth(METRICS_TOKEN).send().await.unwrap();

    // Assert
    assert_eq!((anonymous, wrong, resp.status().as_u16()), (401, 401, 200));
    assert!(resp.text().await.unwrap().contains("# TYPE"));
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Arrange: headers must arrive within a second.
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_for(dir.path());
    config.header_read_timeout = std::time::Duration::from_secs(1);
    let app = spawn_with(dir, config).await;
    let mut tcp = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();

    // Act: half a request, then nothing.
    tcp.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n").await.unwrap();

    // Assert: the server hangs up (an answer, if any, then end of stream).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut buf = [0u8; 1024];
    loop {
        let read = tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await.expect("disconnected in time");
        if read.map_or(true, |n| n == 0) {
            break;
        }
    }
}
