//! Jobs: imports uploaded straight to the blob store and run on a worker,
//! cascading deletes that outlast the request, and who may read a job. On
//! the AWS backend the upload goes to S3 (moto); locally to the server's
//! own presigned route.

use crate::helpers::*;
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite;

/// Reads `path` until the job there is done or failed.
async fn finished(app: &TestApp, path: &str, token: &str) -> Value {
    for _ in 0..300 {
        let job = app.get(path, token).await.expect(200);
        if job["state"] == "done" || job["state"] == "failed" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the job at {path} did not finish within 30 s");
}

fn csv(lines: usize) -> Vec<u8> {
    let mut csv = String::from("phone,name\n");
    for i in 0..lines {
        csv.push_str(&format!("+1555777{i:04},Bulk {i}\n"));
    }
    csv.push_str("not-a-phone,Broken\n");
    csv.into_bytes()
}

#[tokio::test]
async fn an_uploaded_file_is_imported_as_a_job_with_its_report() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let file = csv(2_500);

    let created = app.post("/api/imports", &admin, json!({"format": "csv", "size": file.len()})).await.expect(201);
    let id = created["job"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["job"]["state"], "awaiting_upload");
    let early = app.post(&format!("/api/imports/{id}/start"), &admin, json!({})).await.expect(400);
    assert!(early["error"]["message"].as_str().unwrap().contains("upload"), "{early}");
    let status = app.send_presigned(&created["upload"], file.clone()).await;
    assert!(status.is_success(), "the upload answered {status}");
    let started = app.post(&format!("/api/imports/{id}/start"), &admin, json!({})).await.expect(202);
    assert_eq!(started["id"], id.as_str());
    app.post(&format!("/api/imports/{id}/start"), &admin, json!({})).await.expect(409);

    let job = finished(&app, &format!("/api/imports/{id}"), &admin).await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!((job["processed"].as_u64(), job["total"].as_u64()), (Some(2_502), Some(2_502)));
    let report = &job["report"];
    assert_eq!((report["imported"].as_u64(), report["rejected_count"].as_u64()), (Some(2_500), Some(1)));
    assert_eq!(report["rejected"][0]["line"], 2_502);
    let listed = app.get("/api/accounts?q=%2B15557770042", &admin).await.expect(200);
    assert_eq!(field_list(&listed, "phone").len(), 1);
    let jobs = app.get("/api/jobs", &admin).await.expect(200);
    assert_eq!(field_list(&jobs, "id"), std::slice::from_ref(&id));
}

#[tokio::test]
async fn an_upload_must_match_what_was_signed() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let file = csv(3);
    let created = app.post("/api/imports", &admin, json!({"format": "csv", "size": file.len()})).await.expect(201);
    let upload = &created["upload"];
    if !upload["url"].as_str().unwrap().starts_with('/') {
        // S3 checks its own signatures; moto does not, so this is the local route's test.
        return;
    }
    let mut other_type = upload.clone();
    other_type["headers"]["content-type"] = json!("text/plain");
    assert_eq!(app.send_presigned(&other_type, file.clone()).await, 403);
    assert_eq!(app.send_presigned(upload, file[..file.len() - 1].to_vec()).await, 403);
    let mut forged = upload.clone();
    let url = upload["url"].as_str().unwrap();
    forged["url"] = json!(format!("{}x", &url[..url.len() - 1]));
    assert_eq!(app.send_presigned(&forged, file.clone()).await, 403);
    let mut download = upload.clone();
    download["method"] = json!("GET");
    assert_eq!(app.send_presigned(&download, Vec::new()).await, 403);
    assert!(app.send_presigned(upload, file).await.is_success());
}

#[tokio::test]
async fn a_job_is_read_by_its_starter_and_the_tenants_admins_only() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let l1 = app.create_user(&admin, "jl1", "leader", None).await;
    app.create_user(&admin, "jl2", "leader", None).await;
    app.create_user(&admin, "jag", "agent", Some(&l1)).await;
    let leader = app.login("demo", "jl1", PASSWORD).await;
    let other_leader = app.login("demo", "jl2", PASSWORD).await;
    let agent = app.login("demo", "jag", PASSWORD).await;
    let created = app.post("/api/imports", &leader, json!({"format": "csv", "size": 10})).await.expect(201);
    let path = format!("/api/jobs/{}", created["job"]["id"].as_str().unwrap());

    app.get(&path, &leader).await.expect(200);
    app.get(&path, &admin).await.expect(200);
    app.get(&path, &other_leader).await.expect(404);
    app.get(&path, &agent).await.expect(404);
    assert!(field_list(&app.get("/api/jobs", &other_leader).await.expect(200), "id").is_empty());
    app.post("/api/imports", &agent, json!({"format": "csv", "size": 10})).await.expect(403);
    let other_tenant = app.create_tenant("jobs-b").await;
    app.get(&path, &other_tenant).await.expect(404);
    let huge = 1u64 << 40;
    app.post("/api/imports", &admin, json!({"format": "csv", "size": huge})).await.expect(413);
}

#[tokio::test]
async fn a_delete_that_outlasts_the_wait_answers_202_and_finishes_as_a_job() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_for(dir.path());
    config.job_wait = Duration::ZERO;
    let app = spawn_with(dir, config).await;
    let admin = app.admin().await;
    let tag = app.post("/api/tags", &admin, json!({"name": "doomed"})).await.expect(201);
    let url = format!("{}/ws?token={admin}", app.base.replace("http://", "ws://"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();

    let job = app.delete(&format!("/api/tags/{}", tag["id"].as_str().unwrap()), &admin).await.expect(202);
    assert_eq!(job["kind"]["type"], "delete_tag");
    let done = finished(&app, &format!("/api/jobs/{}", job["id"].as_str().unwrap()), &admin).await;
    assert_eq!(done["state"], "done");
    assert!(field_list(&app.get("/api/tags", &admin).await.expect(200), "id").is_empty());
    let event = loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("an event").unwrap().unwrap();
        if let tungstenite::Message::Text(t) = frame {
            let event: Value = serde_json::from_str(&t).unwrap();
            if event["type"] == "job.finished" {
                break event;
            }
        }
    };
    assert_eq!(event["data"]["id"], job["id"]);
    assert_eq!(event["data"]["state"], "done");
}

#[tokio::test]
async fn a_user_has_a_bounded_number_of_jobs_open() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for _ in 0..tgdesk_core::usecases::MAX_OPEN_JOBS {
        app.post("/api/imports", &admin, json!({"format": "csv", "size": 10})).await.expect(201);
    }
    let refused = app.post("/api/imports", &admin, json!({"format": "csv", "size": 10})).await.expect(429);
    assert_eq!(refused["error"]["code"], "too_many_requests");
    app.post_raw("/api/accounts/import", &admin, "text/csv", b"phone\n+15550001\n".to_vec()).await.expect(429);
    app.create_user(&admin, "jobs2", "leader", None).await;
    let leader = app.login("demo", "jobs2", PASSWORD).await;
    app.post("/api/imports", &leader, json!({"format": "csv", "size": 10})).await.expect(201);
}

#[tokio::test]
async fn an_import_not_started_within_the_hour_fails_and_its_file_is_deleted() {
    use tgdesk_core::domain::{ImportFormat, Job, JobKind, JobState, TenantId, UserId};
    let app = spawn_app().await;
    let admin = app.admin().await;
    let me = app.get("/api/me", &admin).await.expect(200);
    let tenant = TenantId::parse("demo").unwrap();
    let upload = "demo/imports/forgotten".to_owned();
    app.desk.ports().blobs.put(&upload, b"phone\n+15550001\n".to_vec(), "text/csv").await.unwrap();
    let kind = JobKind::ImportAccounts { upload: upload.clone(), format: ImportFormat::Csv, size: 16 };
    let by = UserId::parse(me["id"].as_str().unwrap()).unwrap();
    let mut job = Job::new(tenant.clone(), by, kind, JobState::AwaitingUpload);
    job.created_at -= chrono::Duration::minutes(61);
    app.desk.ports().jobs.insert_job(&job).await.unwrap();
    let ticket = json!({"tenant": "demo", "job": job.id}).to_string().into_bytes();

    app.desk.ports().queue.send_batch(tgdesk_core::usecases::JOBS_QUEUE, vec![ticket]).await.unwrap();

    let ended = finished(&app, &format!("/api/imports/{}", job.id), &admin).await;
    assert_eq!(ended["state"], "failed");
    assert!(ended["error"].as_str().unwrap().contains("not started"), "{ended}");
    assert!(app.blob_deleted(&upload).await, "the import's file is still there");
}
