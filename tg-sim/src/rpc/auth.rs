//! Login over the wire: auth.sendCode / signIn (with PHONE_CODE_INVALID and
//! SESSION_PASSWORD_NEEDED), account.getPassword + auth.checkPassword with real
//! SRP, and auth.logOut, after which the key gets AUTH_KEY_UNREGISTERED.

use grammers_tl_types::{self as tl, Identifiable, Serializable};
use rand::{Rng, RngCore};
use tracing::info;

use super::{parse, RpcCtx, RpcErr, RpcResult};
use crate::cloud::accounts::normalize_phone;
use crate::cloud::render::user_tl;
use crate::cloud::State;
use crate::srp;

/// Returns the phone an auth request names (for FLOOD_WAIT on keys not yet logged in).
pub fn request_phone(cid: u32, body: &[u8]) -> Option<String> {
    if cid == tl::functions::auth::SendCode::CONSTRUCTOR_ID {
        parse::<tl::functions::auth::SendCode>(body).ok().map(|r| normalize_phone(&r.phone_number))
    } else if cid == tl::functions::auth::SignIn::CONSTRUCTOR_ID {
        parse::<tl::functions::auth::SignIn>(body).ok().map(|r| normalize_phone(&r.phone_number))
    } else {
        None
    }
}

fn authorization(st: &State, phone: &str) -> RpcResult {
    let acc = st.data.accounts.get(phone).ok_or_else(|| RpcErr::bad("PHONE_NUMBER_INVALID"))?;
    let me = st.data.users.get(&acc.user_id).ok_or_else(|| RpcErr::bad("USER_ID_INVALID"))?;
    Ok(tl::enums::auth::Authorization::Authorization(tl::types::auth::Authorization {
        setup_password_required: false,
        otherwise_relogin_days: None,
        tmp_sessions: None,
        future_auth_token: None,
        user: user_tl(me, me.id, false),
    })
    .to_bytes())
}

/// auth.sendCode: "sends" a 5-digit code, readable via `/control/login-code`.
pub fn send_code(ctx: &mut RpcCtx<'_>, body: &[u8]) -> RpcResult {
    let req: tl::functions::auth::SendCode = parse(body)?;
    let phone = normalize_phone(&req.phone_number);
    let mut st = ctx.cloud.lock();
    if !st.data.accounts.contains_key(&phone) {
        return Err(RpcErr::bad("PHONE_NUMBER_INVALID"));
    }
    let mut rng = rand::thread_rng();
    let code = format!("{:05}", rng.gen_range(0..100_000));
    let hash = format!("{:016x}", rng.gen::<u64>());
    st.rt.codes.insert(phone, (hash.clone(), code));
    Ok(tl::enums::auth::SentCode::Code(tl::types::auth::SentCode {
        r#type: tl::types::auth::SentCodeTypeApp { length: 5 }.into(),
        phone_code_hash: hash,
        next_type: None,
        timeout: None,
    })
    .to_bytes())
}

/// auth.signIn: checks the code; asks for the password when 2FA is on.
pub fn sign_in(ctx: &mut RpcCtx<'_>, body: &[u8]) -> RpcResult {
    let req: tl::functions::auth::SignIn = parse(body)?;
    let phone = normalize_phone(&req.phone_number);
    let mut st = ctx.cloud.lock();
    let (hash, code) = st.rt.codes.get(&phone).cloned().ok_or_else(|| RpcErr::bad("PHONE_CODE_EXPIRED"))?;
    if hash != req.phone_code_hash {
        return Err(RpcErr::bad("PHONE_CODE_HASH_INVALID"));
    }
    match req.phone_code.as_deref() {
        None | Some("") => return Err(RpcErr::bad("PHONE_CODE_EMPTY")),
        Some(c) if c != code => return Err(RpcErr::bad("PHONE_CODE_INVALID")),
        Some(_) => {}
    }
    st.rt.codes.remove(&phone);
    if st.data.accounts.get(&phone).is_some_and(|a| a.password.is_some()) {
        st.rt.password_pending.insert(ctx.kid, phone);
        return Err(RpcErr { code: 401, message: "SESSION_PASSWORD_NEEDED".into() });
    }
    st.authorize_key(ctx.kid, &phone);
    info!(conn = ctx.conn, "signed in with code");
    let answer = authorization(&st, &phone);
    drop(st);
    ctx.cloud.journal_key(ctx.kid);
    answer
}

/// account.getPassword: issues an SRP challenge for the account owing its password.
pub fn get_password(ctx: &mut RpcCtx<'_>) -> RpcResult {
    let mut st = ctx.cloud.lock();
    let phone = st.rt.password_pending.get(&ctx.kid).cloned().or_else(|| st.key_account(ctx.kid));
    let record = phone.as_ref().and_then(|p| st.data.accounts.get(p)).and_then(|a| a.password.clone());
    let mut secure_random = vec![0u8; 256];
    rand::thread_rng().fill_bytes(&mut secure_random);
    let mut password = tl::types::account::Password {
        has_recovery: false,
        has_secure_values: false,
        has_password: false,
        current_algo: None,
        srp_b: None,
        srp_id: None,
        hint: None,
        email_unconfirmed_pattern: None,
        new_algo: tl::enums::PasswordKdfAlgo::Unknown,
        new_secure_algo: tl::enums::SecurePasswordKdfAlgo::Unknown,
        secure_random,
        pending_reset_date: None,
        login_email_pattern: None,
    };
    if let (Some(phone), Some(record)) = (phone, record) {
        let challenge = record.challenge();
        let srp_id: i64 = rand::thread_rng().gen();
        password.has_password = true;
        password.current_algo = Some(
            tl::types::PasswordKdfAlgoSha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow {
                salt1: record.salt1.clone(),
                salt2: record.salt2.clone(),
                g: srp::G,
                p: srp::prime_bytes(),
            }
            .into(),
        );
        password.srp_b = Some(challenge.g_b.clone());
        password.srp_id = Some(srp_id);
        st.rt.challenges.insert(srp_id, (phone, challenge));
    }
    Ok(tl::enums::account::Password::Password(password).to_bytes())
}

/// auth.checkPassword: verifies the SRP proof (PASSWORD_HASH_INVALID when wrong).
pub fn check_password(ctx: &mut RpcCtx<'_>, body: &[u8]) -> RpcResult {
    let req: tl::functions::auth::CheckPassword = parse(body)?;
    let tl::enums::InputCheckPasswordSrp::Srp(srp) = req.password else {
        return Err(RpcErr::bad("PASSWORD_HASH_INVALID"));
    };
    let (phone, challenge) = {
        let st = ctx.cloud.lock();
        st.rt.challenges.get(&srp.srp_id).cloned().ok_or_else(|| RpcErr::bad("SRP_ID_INVALID"))?
    };
    let record = {
        let st = ctx.cloud.lock();
        let owed =
            st.rt.password_pending.get(&ctx.kid) == Some(&phone) || st.key_account(ctx.kid).as_ref() == Some(&phone);
        if !owed {
            return Err(RpcErr::bad("SRP_ID_INVALID"));
        }
        st.data
            .accounts
            .get(&phone)
            .and_then(|a| a.password.clone())
            .ok_or_else(|| RpcErr::bad("PASSWORD_HASH_INVALID"))?
    };
    // The modpow runs outside the lock: it is the slow part.
    if !record.verify(&challenge, &srp.a, &srp.m1) {
        return Err(RpcErr::bad("PASSWORD_HASH_INVALID"));
    }
    let mut st = ctx.cloud.lock();
    st.rt.challenges.remove(&srp.srp_id);
    st.authorize_key(ctx.kid, &phone);
    info!(conn = ctx.conn, "signed in with password");
    let answer = authorization(&st, &phone);
    drop(st);
    ctx.cloud.journal_key(ctx.kid);
    answer
}

/// auth.logOut: the key stops working for everything but the login flow.
pub fn log_out(ctx: &mut RpcCtx<'_>) -> RpcResult {
    let mut st = ctx.cloud.lock();
    if st.key_account(ctx.kid).is_none() {
        return Err(RpcErr::unauthorized());
    }
    st.logout_key(ctx.kid);
    drop(st);
    ctx.cloud.journal_key(ctx.kid);
    info!(conn = ctx.conn, "logged out");
    Ok(tl::enums::auth::LoggedOut::Out(tl::types::auth::LoggedOut { future_auth_token: None }).to_bytes())
}
