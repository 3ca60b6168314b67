//! Spin's HTTP routing, on the same `routefinder` crate Spin 3 uses: an exact route beats a
//! wildcard, the longest wildcard prefix wins, `:name` segments capture. Also the headers Spin
//! adds to each request it routes (`spin-full-url`, `spin-path-info`, ...).

use anyhow::{anyhow, Result};

/// Where a request goes and what Spin tells the component about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    pub component: String,
    /// (header name, value) pairs Spin adds.
    pub headers: Vec<(String, String)>,
}

#[derive(Debug)]
struct Handler {
    component: String,
    /// The route as written in the manifest (the app's base is `/`).
    raw_route: String,
    wildcard: bool,
}

pub struct Router {
    router: routefinder::Router<Handler>,
}

impl Router {
    pub fn build<'a>(routes: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Router> {
        let mut router = routefinder::Router::new();
        for (route, component) in routes {
            let raw_route = absolutize(route);
            let based = raw_route.strip_suffix('/').unwrap_or(&raw_route).to_owned();
            let (spec, wildcard) = match based.strip_suffix("/...") {
                Some(prefix) => (format!("{prefix}/*"), true),
                None => (based.clone(), based.ends_with("/*")),
            };
            let handler = Handler { component: component.to_owned(), raw_route: raw_route.clone(), wildcard };
            router.add(spec.as_str(), handler).map_err(|e| anyhow!("route {route}: {e}"))?;
        }
        Ok(Router { router })
    }

    /// Routes `path`; `None` is Spin's 404 for a path no route matches.
    pub fn route(&self, path: &str, full_url: &str, client_addr: &str) -> Option<RouteMatch> {
        let found = self.router.best_match(path)?;
        let handler = found.handler();
        let captures = found.captures();
        let path_info = if handler.wildcard {
            let rest = captures.wildcard().unwrap_or_default();
            // Spin keeps the trailing slash routefinder drops.
            match (rest.is_empty(), path.ends_with('/')) {
                (true, false) => String::new(),
                (true, true) => "/".to_owned(),
                (false, false) => format!("/{rest}"),
                (false, true) => format!("/{rest}/"),
            }
        } else {
            String::new()
        };
        let component_route = handler.raw_route.strip_suffix("/...").unwrap_or(&handler.raw_route).to_owned();
        let mut headers = vec![
            ("spin-full-url".to_owned(), full_url.to_owned()),
            ("spin-path-info".to_owned(), path_info),
            ("spin-matched-route".to_owned(), handler.raw_route.clone()),
            ("spin-base-path".to_owned(), "/".to_owned()),
            ("spin-raw-component-route".to_owned(), handler.raw_route.clone()),
            ("spin-component-route".to_owned(), component_route),
            ("spin-client-addr".to_owned(), client_addr.to_owned()),
        ];
        for (name, value) in captures.iter() {
            headers.push((format!("spin-path-match-{name}"), value.to_owned()));
        }
        Some(RouteMatch { component: handler.component.clone(), headers })
    }
}

fn absolutize(route: &str) -> String {
    if route.starts_with('/') {
        route.to_owned()
    } else {
        format!("/{route}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        Router::build([
            ("/api/rooms/:id/messages/...", "messages"),
            ("/api/rooms/:id", "rooms"),
            ("/api/rooms", "rooms"),
            ("/api/...", "fallback"),
            ("/health", "health"),
        ])
        .unwrap()
    }

    fn header<'a>(m: &'a RouteMatch, name: &str) -> &'a str {
        m.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap()
    }

    #[test]
    fn matches_what_spin_was_seen_to_do() {
        let r = router();
        let m = r.route("/api/rooms/r1/messages/m1", "http://h/api/rooms/r1/messages/m1", "127.0.0.1:1").unwrap();
        assert_eq!(m.component, "messages");
        assert_eq!(header(&m, "spin-path-match-id"), "r1");
        assert_eq!(header(&m, "spin-path-info"), "/m1");
        assert_eq!(header(&m, "spin-component-route"), "/api/rooms/:id/messages");
        assert_eq!(header(&m, "spin-matched-route"), "/api/rooms/:id/messages/...");

        let m = r.route("/api/rooms/r1/messages", "u", "a").unwrap();
        assert_eq!((m.component.as_str(), header(&m, "spin-path-info")), ("messages", ""));

        let m = r.route("/api/rooms/r1", "u", "a").unwrap();
        assert_eq!((m.component.as_str(), header(&m, "spin-path-match-id")), ("rooms", "r1"));

        for (path, info) in [("/api/rooms/r1/join", "/rooms/r1/join"), ("/api/other", "/other")] {
            let m = r.route(path, "u", "a").unwrap();
            assert_eq!(m.component, "fallback");
            assert_eq!(header(&m, "spin-component-route"), "/api");
            assert_eq!(header(&m, "spin-path-info"), info);
        }
        assert_eq!(r.route("/api/rooms", "u", "a").unwrap().component, "rooms");
        assert_eq!(header(&r.route("/api/x/", "u", "a").unwrap(), "spin-path-info"), "/x/");
        assert!(r.route("/nowhere", "u", "a").is_none());
    }
}
