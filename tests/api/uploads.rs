//! Files uploaded straight to the blob store by a presigned request and
//! handed out by a presigned download when large (API Gateway takes 10 MB
//! in and a Lambda answers 6 MB out). On the AWS backend the requests go to
//! S3 (moto); locally to the server's own `/api/blobs` route.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn a_large_file_goes_up_and_down_around_the_api() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let leader = app.create_user(&admin, "ul1", "leader", None).await;
    app.create_user(&admin, "uag", "agent", Some(&leader)).await;
    let agent = app.login("demo", "uag", PASSWORD).await;
    let bytes: Vec<u8> = (0..5 * 1024 * 1024 + 17).map(|i: u32| (i % 253) as u8).collect();
    let announce = json!({"name": "catalogue.pdf", "content_type": "application/pdf", "size": bytes.len()});

    let announced = app.post("/api/files/uploads", &agent, announce).await.expect(201);
    let id = announced["file_id"].as_str().unwrap().to_owned();
    let complete = format!("/api/files/{id}/complete");
    app.post(&complete, &agent, json!({})).await.expect(400);
    assert!(app.send_presigned(&announced["upload"], bytes.clone()).await.is_success());
    app.post(&complete, &admin, json!({})).await.expect(404);
    let file = app.post(&complete, &agent, json!({})).await.expect(201);
    assert_eq!((file["id"].as_str(), file["size"].as_u64()), (Some(id.as_str()), Some(bytes.len() as u64)));
    app.post(&complete, &agent, json!({})).await.expect(201);

    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let first = no_redirects.get(format!("{}/api/files/{id}", app.base)).bearer_auth(&agent).send().await.unwrap();
    assert_eq!(first.status(), 307);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let location = if location.starts_with('/') { format!("{}{location}", app.base) } else { location };
    let fetched = reqwest::get(location).await.unwrap();
    assert!(fetched.status().is_success());
    assert_eq!(fetched.bytes().await.unwrap().len(), bytes.len());
    let followed = app.http.get(format!("{}/api/files/{id}", app.base)).bearer_auth(&agent).send().await.unwrap();
    assert!(followed.bytes().await.unwrap().to_vec() == bytes, "the file read back differs");
}

#[tokio::test]
async fn an_announced_upload_is_bounded_and_a_small_file_comes_through_the_api() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let too_big = json!({"name": "huge.bin", "content_type": "application/octet-stream", "size": 51u64 << 20});
    app.post("/api/files/uploads", &admin, too_big).await.expect(413);
    let empty = json!({"name": "empty.txt", "content_type": "text/plain", "size": 0});
    app.post("/api/files/uploads", &admin, empty).await.expect(400);
    let slash = json!({"name": "a/b.txt", "content_type": "text/plain", "size": 3});
    app.post("/api/files/uploads", &admin, slash).await.expect(400);
    app.create_user(&admin, "uploader", "agent", None).await;
    let agent = app.login("demo", "uploader", PASSWORD).await;
    let many = json!({"name": "n.txt", "content_type": "text/plain", "size": 3});
    for _ in 0..tgdesk_core::usecases::MAX_OPEN_JOBS {
        app.post("/api/files/uploads", &agent, many.clone()).await.expect(201);
    }
    app.post("/api/files/uploads", &agent, many).await.expect(429);

    let small = json!({"name": "note.html", "content_type": "text/html", "size": 5});
    let announced = app.post("/api/files/uploads", &admin, small).await.expect(201);
    let id = announced["file_id"].as_str().unwrap();
    let complete = format!("/api/files/{id}/complete");
    let short = app.send_presigned(&announced["upload"], b"<b>x".to_vec()).await;
    if short.is_success() {
        // moto stores what S3 would refuse against the signed length; completing checks it again.
        let refused = app.post(&complete, &admin, json!({})).await.expect(400);
        assert!(refused["error"]["message"].as_str().unwrap().contains("4 bytes"), "{refused}");
    } else {
        assert_eq!(short, 403, "the local route refuses a body shorter than signed");
    }
    assert!(app.send_presigned(&announced["upload"], b"<b>hi".to_vec()).await.is_success());
    app.post(&complete, &admin, json!({})).await.expect(201);
    let got = app.http.get(format!("{}/api/files/{id}", app.base)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");
    assert!(got.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
}

#[tokio::test]
async fn a_file_not_completed_within_the_hour_is_deleted_and_cannot_be_completed() {
    use tgdesk_core::domain::{JobKind, JobState};
    let app = spawn_app().await;
    let admin = app.admin().await;
    let announce = json!({"name": "late.txt", "content_type": "text/plain", "size": 4});
    let announced = app.post("/api/files/uploads", &admin, announce).await.expect(201);
    assert!(app.send_presigned(&announced["upload"], b"late".to_vec()).await.is_success());
    let id = announced["file_id"].as_str().unwrap().to_owned();
    // The job that bounds the wait, made an hour older, and its ticket queued again.
    let tenant = tgdesk_core::domain::TenantId::parse("demo").unwrap();
    let jobs = app.desk.ports().jobs.list_jobs(&tenant, None, None, 10).await.unwrap();
    let mut job = jobs
        .into_iter()
        .find(|j| j.kind == JobKind::UploadFile { file: tgdesk_core::domain::FileId::parse(&id).unwrap() })
        .unwrap();
    assert_eq!(job.state, JobState::AwaitingUpload);
    job.created_at -= chrono::Duration::minutes(61);
    let older = job.next();
    app.desk.ports().jobs.update_job(&older).await.unwrap();
    let ticket = json!({"tenant": "demo", "job": job.id}).to_string().into_bytes();
    app.desk.ports().queue.send_batch(tgdesk_core::usecases::JOBS_QUEUE, vec![ticket]).await.unwrap();

    let mut state = JobState::AwaitingUpload;
    for _ in 0..100 {
        state = app.desk.ports().jobs.get_job(&tenant, &job.id).await.unwrap().unwrap().state;
        if state == JobState::Failed {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state, JobState::Failed);
    let refused = app.post(&format!("/api/files/{id}/complete"), &admin, json!({})).await;
    assert!(matches!(refused.status.as_u16(), 404 | 409), "completing an overdue upload: {}", refused.status);
    assert!(app.blob_deleted(&format!("demo/files/{id}")).await, "the file's bytes are still there");
    assert!(app.blob_deleted(&format!("demo/files/{id}.pending.json")).await);
    app.post(&format!("/api/files/{id}/complete"), &admin, json!({})).await.expect(404);
}
