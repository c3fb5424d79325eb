//! A client of Airbyte's public API for one connection: it gets a token from
//! `applications/token`, renews it before it expires and once on a 401, and turns every
//! answer into plain data or an [`ApiProblem`]. Owned by one task; never shared.

use std::time::{Duration, Instant};

use crate::config::{AirbyteApi, Secret};
use crate::logic::airbyte_api::{self as api, Request as Req, TOKEN_MARGIN_MS};
use crate::model::airbyte::{ApiProblem, Connection, Job};

use super::http::{self, Answer, Request, Target};

/// Each request's bound: connect, TLS, send and read.
pub const REQUEST_LIMIT: Duration = Duration::from_secs(10);

pub struct Client {
    target: Target,
    /// Shown in messages; never holds the secret.
    connection_ref: String,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    token: Option<(Secret, Instant)>,
    /// Tokens asked for so far (a refresh shows as a second one).
    pub tokens_fetched: u32,
}

impl Client {
    pub fn new(settings: &AirbyteApi) -> Result<Client, ApiProblem> {
        let target = Target::parse(&settings.url).map_err(ApiProblem::Config)?;
        Ok(Client {
            target,
            connection_ref: settings.connection.clone(),
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.clone(),
            token: None,
            tokens_fetched: 0,
        })
    }

    /// A token that will not expire within the margin; asked for when needed. With no
    /// client id configured (an install without authentication) there is none.
    async fn token(&mut self) -> Result<Option<Secret>, ApiProblem> {
        let (Some(id), Some(secret)) = (&self.client_id, &self.client_secret) else {
            return Ok(None);
        };
        if let Some((t, until)) = &self.token
            && Instant::now() < *until
        {
            return Ok(Some(t.clone()));
        }
        let answer = http::send(
            &self.target,
            Request {
                method: "POST",
                path: &format!("{}/applications/token", api::API_PREFIX),
                bearer: None,
                json: Some(api::token_body(id, secret.expose())),
            },
            REQUEST_LIMIT,
        )
        .await?;
        if !(200..300).contains(&answer.status) {
            return Err(api::problem(
                Req::Token,
                answer.status,
                &answer.body,
                &self.connection_ref,
            ));
        }
        let token = api::parse_token(&answer.body).map_err(|m| ApiProblem::Server {
            status: answer.status,
            message: m,
        })?;
        self.tokens_fetched += 1;
        let lives = (token.expires_in_ms - TOKEN_MARGIN_MS).max(token.expires_in_ms / 2);
        let value = Secret::new(token.access_token);
        self.token = Some((
            value.clone(),
            Instant::now() + Duration::from_millis(lives as u64),
        ));
        Ok(Some(value))
    }

    /// Sends with a token; a 401 drops it and tries once more with a fresh one (tokens
    /// last minutes, and a server restart forgets them early).
    async fn call(
        &mut self,
        kind: Req,
        method: &'static str,
        path: &str,
        json: Option<String>,
    ) -> Result<Answer, ApiProblem> {
        let mut answer = self.send(method, path, &json).await?;
        if answer.0.status == 401 && answer.1 {
            self.token = None;
            answer = self.send(method, path, &json).await?;
        }
        let (answer, _) = answer;
        if !(200..300).contains(&answer.status) {
            return Err(api::problem(
                kind,
                answer.status,
                &answer.body,
                &self.connection_ref,
            ));
        }
        Ok(answer)
    }

    /// One request with the current token: the answer, and whether a token went with it.
    async fn send(
        &mut self,
        method: &'static str,
        path: &str,
        json: &Option<String>,
    ) -> Result<(Answer, bool), ApiProblem> {
        let token = self.token().await?;
        let answer = http::send(
            &self.target,
            Request {
                method,
                path,
                bearer: token.as_ref(),
                json: json.clone(),
            },
            REQUEST_LIMIT,
        )
        .await?;
        Ok((answer, token.is_some()))
    }

    /// The configured connection: by id, or found by name among those listed.
    pub async fn connection(&mut self) -> Result<Connection, ApiProblem> {
        let wanted = self.connection_ref.clone();
        if api::looks_like_id(&wanted) {
            let a = self
                .call(Req::Connection, "GET", &api::connection_path(&wanted), None)
                .await?;
            return api::parse_connection(&a.body).map_err(|m| bad_shape(&a, m));
        }
        let mut all = Vec::new();
        for page in 0..100 {
            let a = self
                .call(
                    Req::Connections,
                    "GET",
                    &api::connections_path(page * 100),
                    None,
                )
                .await?;
            let (list, more) = api::parse_connections(&a.body).map_err(|m| bad_shape(&a, m))?;
            let empty = list.is_empty();
            all.extend(list);
            if !more || empty {
                break;
            }
        }
        api::pick_connection(&wanted, &all)
    }

    /// The connection's newest sync jobs, newest first.
    pub async fn jobs(&mut self, connection_id: &str) -> Result<Vec<Job>, ApiProblem> {
        let a = self
            .call(Req::Jobs, "GET", &api::jobs_path(connection_id), None)
            .await?;
        api::parse_jobs(&a.body).map_err(|m| bad_shape(&a, m))
    }

    /// Starts a sync of the connection: the job Airbyte created.
    pub async fn start_sync(&mut self, connection_id: &str) -> Result<Job, ApiProblem> {
        let path = format!("{}/jobs", api::API_PREFIX);
        let a = self
            .call(
                Req::StartSync,
                "POST",
                &path,
                Some(api::start_sync_body(connection_id)),
            )
            .await?;
        api::parse_job(&a.body).map_err(|m| bad_shape(&a, m))
    }
}

fn bad_shape(a: &Answer, message: String) -> ApiProblem {
    ApiProblem::Server {
        status: a.status,
        message: format!("{message} — is the URL Airbyte's API?"),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The scripted server, its requests as "first line [token or -]".
    pub(crate) async fn scripted(
        replies: Vec<(u16, &'static str)>,
    ) -> (String, impl Fn() -> Vec<String>) {
        let (url, seen) = crate::io::airbyte::scripted::serve(replies).await;
        let lines = move || {
            seen.lock()
                .unwrap()
                .iter()
                .map(|text| {
                    let first = text.lines().next().unwrap_or("");
                    let auth = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("authorization: bearer ")
                                .map(str::to_string)
                        })
                        .unwrap_or_else(|| "-".into());
                    format!("{first} [{auth}]")
                })
                .collect()
        };
        (url, lines)
    }

    pub(crate) fn settings(url: String, connection: &str) -> AirbyteApi {
        AirbyteApi {
            url,
            client_id: Some("app".into()),
            client_secret: Some(Secret::new("sekrit")),
            connection: connection.into(),
        }
    }

    pub(crate) const JOBS: &str = r#"{"data":[{"jobId":3,"status":"succeeded","jobType":"sync","startTime":"2026-12-01T10:00:00Z","connectionId":"c","duration":"PT1M"}],"next":null,"previous":null}"#;

    #[tokio::test]
    async fn a_refused_token_is_renewed_once_and_the_call_goes_through() {
        let (url, seen) = scripted(vec![
            (
                200,
                r#"{"access_token":"t1","token_type":"Bearer","expires_in":180}"#,
            ),
            (401, r#"{"message":"token expired"}"#),
            (
                200,
                r#"{"access_token":"t2","token_type":"Bearer","expires_in":180}"#,
            ),
            (200, JOBS),
            (200, JOBS),
        ])
        .await;
        let mut c = Client::new(&settings(url, "c")).unwrap();
        let jobs = c.jobs("c").await.unwrap();
        assert_eq!(jobs[0].id, 3);
        assert_eq!(c.tokens_fetched, 2);
        // The fresh token is kept for the next call.
        c.jobs("c").await.unwrap();
        assert_eq!(c.tokens_fetched, 2);
        let seen = seen();
        assert_eq!(
            seen,
            [
                "POST /api/public/v1/applications/token HTTP/1.1 [-]",
                "GET /api/public/v1/jobs?connectionId=c&jobType=sync&limit=10&orderBy=createdAt%7CDESC HTTP/1.1 [t1]",
                "POST /api/public/v1/applications/token HTTP/1.1 [-]",
                "GET /api/public/v1/jobs?connectionId=c&jobType=sync&limit=10&orderBy=createdAt%7CDESC HTTP/1.1 [t2]",
                "GET /api/public/v1/jobs?connectionId=c&jobType=sync&limit=10&orderBy=createdAt%7CDESC HTTP/1.1 [t2]",
            ]
        );
    }

    #[tokio::test]
    async fn wrong_credentials_and_unknown_names_are_one_line_each() {
        let (url, _) = scripted(vec![(401, r#"{"message":"Invalid client credentials"}"#)]).await;
        let mut c = Client::new(&settings(url, "c")).unwrap();
        let e = c.jobs("c").await.unwrap_err();
        assert!(matches!(e, ApiProblem::Credentials(_)), "{e:?}");
        assert!(!e.to_string().contains("sekrit"));
        let (url, _) = scripted(vec![
            (200, r#"{"access_token":"t1","expires_in":180}"#),
            (
                200,
                r#"{"data":[{"connectionId":"a","name":"other"}],"next":null}"#,
            ),
        ])
        .await;
        let mut c = Client::new(&settings(url, "pg to pg")).unwrap();
        let e = c.connection().await.unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Airbyte has no connection named \"pg to pg\""),
            "{e}"
        );
    }
}
