//! Not built yet: answers the 404 envelope until its endpoints land.

use chat::http::Routes;
use spin_sdk::http::{Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(request: Request) -> Response {
    Routes::new().handle(request)
}
