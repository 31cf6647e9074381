//! Account import: per-line errors, idempotency, groups and tags.

use crate::helpers::*;

const CSV: &str = "phone,name,tags,group,owner
+15551110001,Alpha,vip;night,Team A,imp
+15551110002,Beta,,,
not-a-phone,Gamma,,,
+15551110003,Delta,vip,,ghost
+15551110001,Again,,,
+15551110004,\"Eps, Ltd\",day,Team A,imp
";

#[tokio::test]
async fn a_csv_import_reports_bad_lines_and_imports_the_rest() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let imp = app.create_user(&admin, "imp", "agent", None).await;
    let report = app.post_raw("/api/accounts/import", &admin, "text/csv", CSV.into()).await.expect(200);
    assert_eq!(report["imported"], 3);
    assert_eq!(report["unchanged"], 0);
    let rejected: Vec<(u64, String)> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(rejected.iter().map(|r| r.0).collect::<Vec<_>>(), vec![4, 5, 6]);
    assert!(rejected[0].1.contains("phone"), "{rejected:?}");
    assert!(rejected[1].1.contains("ghost"), "{rejected:?}");
    assert!(rejected[2].1.contains("line 2"), "{rejected:?}");
    let owned = app.get(&format!("/api/accounts?owner={imp}"), &admin).await.expect(200);
    let mut phones = field_list(&owned, "phone");
    phones.sort();
    assert_eq!(phones, vec!["+15551110001", "+15551110004"]);
    let tags = app.get("/api/tags", &admin).await.expect(200);
    let mut names = field_list(&tags, "name");
    names.sort();
    assert_eq!(names, vec!["day", "night", "vip"]);
    let groups = app.get(&format!("/api/groups?owner={imp}"), &admin).await.expect(200);
    assert_eq!(field_list(&groups, "name"), vec!["Team A"]);
    let group = groups["items"][0]["id"].as_str().unwrap();
    let members = app.get(&format!("/api/accounts?group={group}"), &admin).await.expect(200);
    assert_eq!(field_list(&members, "id").len(), 2);
}

#[tokio::test]
async fn importing_the_same_file_again_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.create_user(&admin, "imp", "agent", None).await;
    app.post_raw("/api/accounts/import", &admin, "text/csv", CSV.into()).await.expect(200);
    let before = app.get("/api/accounts?limit=500", &admin).await.expect(200);
    let again = app.post_raw("/api/accounts/import", &admin, "text/csv", CSV.into()).await.expect(200);
    assert_eq!(again["imported"], 0);
    assert_eq!(again["unchanged"], 3);
    let after = app.get("/api/accounts?limit=500", &admin).await.expect(200);
    assert_eq!(before, after);
}

#[tokio::test]
async fn json_lines_are_imported_with_bad_lines_reported() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = concat!(
        "{\"phone\":\"+15552220001\",\"name\":\"One\",\"tags\":[\"a\",\"b\"]}\n",
        "{\"phone\":\"+15552220002\",\"tags\":\"c;d\"}\n",
        "\n",
        "{\"phone\": \n",
        "{\"phone\":\"+15552220003\",\"colour\":\"red\"}\n",
    );
    let report = app.post_raw("/api/accounts/import", &admin, "application/x-ndjson", body.into()).await.expect(200);
    assert_eq!(report["imported"], 2);
    let lines: Vec<u64> = report["rejected"].as_array().unwrap().iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![4, 5]);
    assert!(report["rejected"][1]["reason"].as_str().unwrap().contains("colour"));
}

#[tokio::test]
async fn a_file_with_an_unknown_column_or_type_is_refused_whole() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let bad =
        app.post_raw("/api/accounts/import", &admin, "text/csv", b"phone,nickname\n+15553330001,x\n".to_vec()).await;
    assert!(bad.expect(400)["error"]["message"].as_str().unwrap().contains("nickname"));
    let xml = app.post_raw("/api/accounts/import", &admin, "application/xml", b"<a/>".to_vec()).await;
    assert_eq!(xml.expect(415)["error"]["code"], "unsupported_media_type");
    assert!(field_list(&app.get("/api/accounts", &admin).await.expect(200), "id").is_empty());
}

#[tokio::test]
async fn a_leader_imports_into_their_team_and_cannot_hand_accounts_to_others() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let l1 = app.create_user(&admin, "imlead", "leader", None).await;
    let l2 = app.create_user(&admin, "otherlead", "leader", None).await;
    app.create_user(&admin, "inteam", "agent", Some(&l1)).await;
    app.create_user(&admin, "outteam", "agent", Some(&l2)).await;
    let lt = app.login("demo", "imlead", PASSWORD).await;
    let csv = "phone,owner\n+15554440001,inteam\n+15554440002,outteam\n+15554440003,\n";
    let report = app.post_raw("/api/accounts/import", &lt, "text/csv", csv.into()).await.expect(200);
    assert_eq!(report["imported"], 2);
    assert_eq!(report["rejected"][0]["line"], 3);
    let visible = app.get("/api/accounts", &lt).await.expect(200);
    assert_eq!(field_list(&visible, "phone").len(), 2, "both imported accounts are in the leader's team");
    let agent = app.login("demo", "inteam", PASSWORD).await;
    app.post_raw("/api/accounts/import", &agent, "text/csv", csv.into()).await.expect(403);
}

#[tokio::test]
async fn a_large_import_keeps_good_lines_around_a_few_broken_ones() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut csv = String::from("phone,name\n");
    for i in 0..5_000 {
        if i % 1000 == 999 {
            csv.push_str("broken,line\n");
        } else {
            csv.push_str(&format!("+1666{i:07},Account {i}\n"));
        }
    }
    let report = app.import(&admin, "text/csv", csv.into()).await;
    assert_eq!(report["imported"], 4_995);
    let lines: Vec<u64> = report["rejected"].as_array().unwrap().iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![1001, 2001, 3001, 4001, 5001]);
}

/// A Telethon session string for the simulator's address with a key of `byte`.
fn telethon_session(byte: u8) -> String {
    use base64::Engine;
    let mut raw = vec![2u8, 127, 0, 0, 1];
    raw.extend_from_slice(&4430u16.to_be_bytes());
    raw.extend_from_slice(&[byte; 256]);
    format!("1{}", base64::engine::general_purpose::URL_SAFE.encode(raw))
}

#[tokio::test]
async fn importing_a_new_session_for_an_existing_account_replaces_its_key_and_the_same_one_changes_nothing() {
    // No fleet: nothing connects the imported keys and changes them meanwhile.
    let app = spawn_without_fleet().await;
    let admin = app.admin().await;
    let import = |session: String| {
        let csv = format!("phone,session\n+15551130001,{session}\n");
        app.post_raw("/api/accounts/import", &admin, "text/csv", csv.into_bytes())
    };
    let stored = || async {
        let tenant = tgdesk_core::domain::TenantId::parse("demo").unwrap();
        let page = app.get("/api/accounts?q=15551130001", &admin).await.expect(200);
        let id = tgdesk_core::domain::AccountId::parse(page["items"][0]["id"].as_str().unwrap()).unwrap();
        app.desk.ports().directory.get_account(&tenant, &id).await.unwrap().unwrap().session.expect("a session")
    };

    let report = import(telethon_session(1)).await.expect(200);
    assert_eq!(report["imported"], 1, "{report}");
    let first = stored().await;
    let report = import(telethon_session(1)).await.expect(200);
    assert_eq!((report["imported"].as_u64(), report["unchanged"].as_u64()), (Some(0), Some(1)), "{report}");
    assert_eq!(stored().await, first, "the same key left as it was");

    let report = import(telethon_session(2)).await.expect(200);
    assert_eq!(report["imported"], 1, "{report}");
    assert_ne!(stored().await, first, "the new key is stored");
}
