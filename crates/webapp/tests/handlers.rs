//! The web app's handlers through the real router without a network listener, on a temporary
//! SQLite file and a recorder in place of Kafka (`RecordingSink`, which checks each event
//! against its contract as the producer does): what they answer, store and send, with no broker.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use common::domain::wiring::ServiceName;
use common::kafka::{test_settings, RecordingSink};
use common::settings::{Settings, StatusSource, StoreLocation, WebappSettings};
use http_body_util::BodyExt;
use store::OrderStore;
use tempfile::TempDir;
use tower::ServiceExt;
use webapp::app::build_state;

struct App {
    router: Router,
    sink: Arc<RecordingSink>,
    store: Arc<dyn OrderStore>,
    settings: Settings,
    _dir: TempDir,
}

impl App {
    async fn start() -> Self {
        Self::with(|_| {}).await
    }

    /// The shipped configuration, its files in a folder of the app's own, changed by `edit`.
    async fn with(edit: impl FnOnce(&mut Settings)) -> Self {
        Self::with_sink(edit, |topics| {
            RecordingSink::new(ServiceName::Webapp, topics)
        })
        .await
    }

    async fn with_sink(
        edit: impl FnOnce(&mut Settings),
        sink: impl FnOnce(common::settings::Topics) -> RecordingSink,
    ) -> Self {
        let dir = tempfile::tempdir().expect("folder");
        let mut settings = test_settings();
        settings.sys.orders_store.location = StoreLocation::Sqlite(dir.path().join("orders.db"));
        settings.sys.webapp = WebappSettings {
            session_key_file: dir.path().join("session.key"),
            ..settings.sys.webapp.clone()
        };
        edit(&mut settings);
        let sink = Arc::new(sink(settings.sys.topics.clone()));
        let state = build_state(
            &settings,
            sink.clone(),
            &dir.path().join("logs"),
            &Default::default(),
            Default::default(),
        )
        .await
        .expect("state");
        let store = store::open_order_store(&settings.sys.orders_store)
            .await
            .expect("the same store");
        Self {
            router: webapp::router(state),
            sink,
            store,
            settings,
            _dir: dir,
        }
    }

    /// The keys of what was sent to `pizza-ordered`, in order.
    fn ordered_keys(&self) -> Vec<String> {
        self.sink
            .sent_to(&self.settings.sys.topics.ordered)
            .into_iter()
            .map(|sent| sent.key)
            .collect()
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("answered");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    async fn get(&self, path: &str, cookie: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        self.send(
            Request::get(path)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .expect("request"),
        )
        .await
    }

    async fn post(
        &self,
        path: &str,
        cookie: &str,
        form: &str,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let request = Request::post(path)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .expect("request");
        self.send(request).await
    }

    /// Logs in and returns the session cookie to send back.
    async fn login(&self, name: &str) -> String {
        let (status, headers, _) = self.post("/login", "", &format!("username={name}")).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let set_cookie = headers[header::SET_COOKIE]
            .to_str()
            .expect("ascii")
            .to_owned();
        set_cookie.split(';').next().expect("name=value").to_owned()
    }

    async fn order(&self, cookie: &str, form: &str) -> String {
        let (status, headers, body) = self.post("/", cookie, form).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        let location = headers[header::LOCATION].to_str().expect("ascii");
        location
            .strip_prefix("/orders/")
            .expect("order page")
            .to_owned()
    }
}

const PIZZA: &str =
    "sauce=Pesto&cheese=Cheddar&main_topping=Chicken&extra_topping=Onion&extra_topping=Egg";

fn location(headers: &axum::http::HeaderMap) -> &str {
    headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_lead_to_login_and_login_sets_a_private_cookie() {
    let app = App::start().await;
    for path in [
        "/",
        "/orders",
        "/orders/0badf00d",
        "/api/orders/0badf00d",
        "/orders/search?order_id=1",
    ] {
        let (status, headers, _) = app.get(path, "").await;
        assert_eq!(
            (status, location(&headers)),
            (StatusCode::SEE_OTHER, "/login"),
            "{path}"
        );
    }
    let (status, _, body) = app.get("/health-check", "").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "Ok"));
    let (status, _, _) = app.get("/static/style.css", "").await;
    assert_eq!(status, StatusCode::OK);

    let (status, headers, _) = app.post("/login", "", "username=++Ann++").await;
    assert_eq!((status, location(&headers)), (StatusCode::SEE_OTHER, "/"));
    let cookie = headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Ann"),
        "the session is encrypted, not readable in plain: {cookie}"
    );

    let session = cookie.split(';').next().expect("pair");
    let (status, _, page) = app.get("/", session).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("<summary>Ann</summary>"), "{page}");
    assert!(page.contains("<title>Pizza Demo | Menu</title>"), "{page}");
    assert!(page.contains("Customise your pizza") && page.contains("Submit your order"));
    assert!(
        !page.contains(" checked"),
        "nothing is chosen before the customer chooses: {page}"
    );
    // The menu comes from [pizza] of the configuration.
    for item in app
        .settings
        .sys
        .menu
        .sauce
        .iter()
        .chain(&app.settings.sys.menu.extra_toppings)
    {
        assert!(
            page.contains(&format!("value=\"{item}\"")),
            "{item} missing from the menu"
        );
    }

    // A tampered cookie is no session.
    let forged = format!("{session}x");
    let (status, headers, _) = app.get("/", &forged).await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/login")
    );

    // Logging out is a form post; a link (a GET) cannot do it, from this site or another.
    let (status, headers, _) = app.get("/logout", session).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        headers[header::ALLOW],
        "POST",
        "the 405 page keeps its Allow"
    );
    assert_eq!(app.get("/orders", session).await.0, StatusCode::OK);
    let (status, headers, _) = app.post("/logout", session, "").await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/login")
    );
    let cleared = headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(
        cleared.starts_with("pizza_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    // The cookie, kept and sent again, is no session any more.
    let (status, headers, _) = app.get("/orders", session).await;
    assert_eq!(
        (status, location(&headers)),
        (StatusCode::SEE_OTHER, "/login"),
        "a cookie used after logout"
    );

    let (status, _, body) = app.post("/login", "", "username=a+name+far+too+long").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("username"), "{body}");
    // Right-to-left override, line and paragraph separators, a zero-width space, bytes that
    // are not UTF-8: each refused with a page naming the field.
    for name in [
        "Ann%E2%80%AEnnA",
        "Ann%E2%80%A8",
        "Ann%E2%80%A9",
        "A%E2%80%8Bnn",
        "Ann%FF",
    ] {
        let (status, headers, body) = app.post("/login", "", &format!("username={name}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
        assert!(!headers.contains_key(header::SET_COOKIE), "{name}");
        assert!(
            body.contains("<h1>Bad Request</h1>") && body.contains("username"),
            "{name}: {body}"
        );
    }
    let (_, headers, _) = app.post("/login", "", "username=+++").await;
    let anonymous = headers[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    assert!(app
        .get("/", &anonymous)
        .await
        .2
        .contains("<summary>Anonymous</summary>"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_ends_when_left_idle_or_too_old() {
    // Sessions count whole seconds, so a limit of a few: a page asked for within a second of the
    // login finds the session alive whatever second of the clock the login fell in.
    const LIMIT: Duration = Duration::from_secs(3);
    let idle = |s: &mut Settings| s.sys.webapp.session_idle = LIMIT;
    let old = |s: &mut Settings| s.sys.webapp.session_lifetime = LIMIT;
    for (what, limit) in [
        ("an idle session", &idle as &dyn Fn(&mut Settings)),
        ("a session past its lifetime", &old),
    ] {
        let app = App::with(limit).await;
        let logged_in = Instant::now();
        let session = app.login("Ann").await;
        assert_eq!(
            app.get("/orders", &session).await.0,
            StatusCode::OK,
            "{what}"
        );
        let ended = loop {
            let (status, headers, _) = app.get("/orders", &session).await;
            if status != StatusCode::OK {
                assert_eq!(
                    (status, location(&headers)),
                    (StatusCode::SEE_OTHER, "/login"),
                    "{what}"
                );
                break logged_in.elapsed();
            }
            assert!(
                logged_in.elapsed() < LIMIT * 5,
                "{what} still open after {:?}",
                logged_in.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert!(
            ended > LIMIT - Duration::from_secs(1),
            "{what} ended after {ended:?}, before its {LIMIT:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_is_stored_and_produced_with_the_exact_event() {
    let app = App::start().await;
    let session = app.login("Ann").await;
    let order_id = app.order(&session, PIZZA).await;
    assert_eq!(order_id.len(), 8);
    assert!(order_id.bytes().all(|b| b.is_ascii_hexdigit()));

    let stored = app
        .store
        .get_order(&order_id)
        .await
        .expect("query")
        .expect("stored");
    assert_eq!(stored.status.status, 100);
    // The web app answered once the event was sent (and its status beside it).
    let ordered = app.sink.sent_to(&app.settings.sys.topics.ordered);
    assert_eq!(ordered.len(), 1);
    assert_eq!(ordered[0].key, order_id);
    let event = ordered[0].json();
    let expected = serde_json::json!({
        "status": 100,
        "timestamp": stored.timestamp,
        "order": {
            "extra_toppings": ["Onion", "Egg"],
            "customer_id": stored.details.customer_id,
            "username": "Ann",
            "sauce": "Pesto",
            "cheese": "Cheddar",
            "main_topping": "Chicken"
        }
    });
    assert_eq!(event, expected);
    assert_eq!(stored.details.customer_id.len(), 32);
    let statuses = app.sink.sent_to(&app.settings.sys.topics.status);
    assert_eq!(statuses.len(), 1, "its placed status");
    assert_eq!(
        statuses[0].json(),
        serde_json::json!({"status": 100, "timestamp": stored.timestamp, "written_by": "webapp"})
    );

    let (status, _, json) = app.get(&format!("/api/orders/{order_id}"), &session).await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(json["order_id"], order_id.as_str());
    assert_eq!(json["status"], 100);
    assert_eq!(json["status_str"], "Order received and being prepared");
    assert_eq!(json["extra_toppings"], serde_json::json!(["Onion", "Egg"]));

    let (status, _, page) = app.get("/orders", &session).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&order_id) && page.contains("Order received and being prepared"));
    let (status, headers, _) = app
        .get(
            &format!("/orders/search?order_id={}", order_id.to_uppercase()),
            &session,
        )
        .await;
    assert_eq!(
        (status, location(&headers)),
        (
            StatusCode::SEE_OTHER,
            format!("/orders/{order_id}").as_str()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_field_is_named_and_nothing_is_kept_or_sent() {
    let app = App::start().await;
    let session = app.login("Bob").await;
    // The menu comes back with the refused field named, and what was chosen still chosen.
    for (form, field, said) in [
        (
            "sauce=Ketchup&cheese=Cheddar&main_topping=Pork",
            "sauce",
            "Sauce: that is not on the menu",
        ),
        (
            "sauce=Pesto&cheese=Cheddar",
            "main_topping",
            "Main topping: please choose one",
        ),
        (
            "sauce=Pesto&cheese=Cheddar&main_topping=Pork&extra_topping=Gold",
            "extra_topping",
            "Extra toppings: that is not on the menu",
        ),
    ] {
        let (status, _, body) = app.post("/", &session, form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{form}");
        assert!(
            body.contains(&format!("data-field=\"{field}\">{said}</p>")),
            "{form}: {body}"
        );
        assert!(
            body.contains("value=\"Cheddar\" required checked"),
            "{form}: {body}"
        );
    }
    // Not an order id: no order, said as the original's order page says it.
    let (status, _, body) = app.get("/orders/search?order_id=nothex!", &session).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Order 'nothex!' not found"), "{body}");
    assert!(!app
        .get("/orders", &session)
        .await
        .2
        .contains("data-order-id"));
    // A good order after the refused ones: anything the refused ones had sent would be there
    // before it.
    let good = app.order(&session, PIZZA).await;
    assert_eq!(
        app.ordered_keys(),
        [good],
        "nothing is produced for a refused order"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn customers_see_only_their_own_orders() {
    let app = App::start().await;
    let ann = app.login("Ann").await;
    let eve = app.login("Eve").await;
    let anns = app.order(&ann, PIZZA).await;

    let unknown = "0badf00d";
    for path in ["/orders/{}", "/api/orders/{}", "/orders/{}/logs"] {
        let theirs = app.get(&path.replace("{}", &anns), &eve).await;
        let nobodys = app.get(&path.replace("{}", unknown), &eve).await;
        assert_eq!(theirs.0, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(nobodys.0, StatusCode::NOT_FOUND, "{path}");
        // The order page names the id asked for; apart from it, the two are the same.
        assert_eq!(
            theirs.2.replace(&anns, "ID"),
            nobodys.2.replace(unknown, "ID"),
            "{path}: someone else's order looks exactly like no order"
        );
        assert_eq!(
            app.get(&path.replace("{}", &anns), &ann).await.0,
            StatusCode::OK,
            "{path}"
        );
    }
    assert!(!app.get("/orders", &eve).await.2.contains(&anns));
    let (_, _, page) = app.get(&format!("/orders/{anns}"), &eve).await;
    assert!(
        page.contains(&format!("Order '{anns}' not found")),
        "{page}"
    );
    assert!(page.contains("<title>Pizza Demo | Order</title>"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_without_extras_shows_nothing_after_extras() {
    let app = App::start().await;
    let session = app.login("Ann").await;
    let order_id = app
        .order(&session, "sauce=Pesto&cheese=Cheddar&main_topping=Chicken")
        .await;
    let (_, _, page) = app.get(&format!("/orders/{order_id}"), &session).await;
    let words = page.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("Main: Chicken<br> Extras: </td>"), "{words}");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_customer_types_is_shown_as_text() {
    let app = App::start().await;
    let session = app.login("%3Cimg+src%3Dx%3E").await;
    let (_, _, page) = app.get("/", &session).await;
    assert!(
        page.contains("<summary>&#60;img src=x&#62;</summary>"),
        "{page}"
    );
    assert!(!page.contains("<img src=x>"));
    let order_id = app.order(&session, PIZZA).await;
    let (_, _, page) = app.get(&format!("/orders/{order_id}"), &session).await;
    assert!(!page.contains("<img src=x>"));
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_get_the_right_4xx_and_every_answer_is_hardened() {
    let app = App::start().await;
    let session = app.login("Ann").await;

    let delete = Request::delete("/")
        .header(header::COOKIE, &session)
        .body(Body::empty())
        .expect("request");
    assert_eq!(app.send(delete).await.0, StatusCode::METHOD_NOT_ALLOWED);

    let huge = format!("{PIZZA}&extra_topping={}", "x".repeat(64 * 1024));
    assert_eq!(
        app.post("/", &session, &huge).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    let (status, _, _) = app.get("/orders/%FF%FE", &session).await;
    assert!(status.is_client_error(), "{status}");
    let (status, _, page) = app.get("/no/such/page", &session).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        page.contains("<summary>Ann</summary>") && page.contains("My Orders"),
        "an error page keeps the customer's navigation: {page}"
    );

    let cross_site = Request::post("/")
        .header(header::COOKIE, &session)
        .header(header::HOST, "127.0.0.1:8000")
        .header(header::ORIGIN, "http://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(PIZZA))
        .expect("request");
    let (status, _, page) = app.send(cross_site).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("<h1>Forbidden</h1>"), "{page}");

    // Refusals made before any handler runs are the shop's pages too, titled by their status.
    let (status, headers, page) = app
        .post("/", &session, &format!("{PIZZA}&sauce=Tomato"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("<title>Pizza Demo | Unprocessable Entity</title>")
            && page.contains("<summary>Ann</summary>"),
        "{page}"
    );
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .expect("ascii")
        .starts_with("text/html"));
    let (status, _, page) = app.post("/", &session, &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.contains("<h1>Request Entity Too Large</h1>"), "{page}");
    let not_a_form = Request::post("/login")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("username=Ann"))
        .expect("request");
    let (status, _, page) = app.send(not_a_form).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(page.contains("<h1>Unsupported Media Type</h1>"), "{page}");

    // Personal pages are kept by nobody.
    for path in ["/", "/orders", "/orders/search?order_id=x"] {
        let (_, headers, _) = app.get(path, &session).await;
        assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{path}");
    }

    let (_, headers, _) = app.get("/", &session).await;
    assert!(headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("ascii")
        .contains("default-src 'self'"));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_the_broker_does_not_take_is_not_kept() {
    let app = App::start().await;
    let session = app.login("Ann").await;
    app.sink.fail(&app.settings.sys.topics.ordered);

    let (status, _, body) = app.post("/", &session, PIZZA).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("not placed"), "{body}");
    assert!(!app
        .get("/orders", &session)
        .await
        .2
        .contains("data-order-id"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_refused_for_its_contract_gets_the_error_page_and_is_not_kept() {
    let app = App::start().await;
    let session = app.login("Ann").await;
    app.sink.refuse(&app.settings.sys.topics.ordered);

    let (status, _, body) = app.post("/", &session, PIZZA).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body.contains("<h1>Order not accepted</h1>") && body.contains("contract"),
        "{body}"
    );
    assert!(!app
        .get("/orders", &session)
        .await
        .2
        .contains("data-order-id"));
    assert!(
        app.sink.sent_to(&app.settings.sys.topics.status).is_empty(),
        "no placed status for an order never placed"
    );
}

/// The flow panel shows ksqlDB between the stages and the status service when ksqlDB writes
/// the statuses.
#[tokio::test(flavor = "multi_thread")]
async fn the_flow_panel_shows_ksqldb_when_it_writes_the_statuses() {
    for (source, shown) in [
        (StatusSource::Services, false),
        (StatusSource::KsqlDb, true),
    ] {
        let app = App::with_sink(
            |s| s.sys.status_source = source,
            |topics| RecordingSink::new(ServiceName::Webapp, topics).statuses_by(source),
        )
        .await;
        let session = app.login("Ann").await;
        let order_id = app.order(&session, PIZZA).await;
        let (_, _, page) = app.get(&format!("/orders/{order_id}"), &session).await;
        assert_eq!(
            page.contains(r#"<div class="box ksqldb">ksqlDB</div>"#),
            shown,
            "{source:?}"
        );
        assert!(page.contains(r#"<div class="box store">local cache</div>"#));
        let statuses = app.sink.sent_to(&app.settings.sys.topics.status);
        assert_eq!(statuses.len(), usize::from(!shown), "{source:?}");
    }
}
