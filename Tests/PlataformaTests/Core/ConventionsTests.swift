import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("DRF wire conventions")
struct ConventionsTests {
    @Test("unknown routes are JSON 404 not_found, never HTML")
    func unknownRoute() async throws {
        try await withApp { t in
            let res = try await t.send(.GET, "/api/no-existe/")
            #expect(res.status == .notFound)
            #expect(res.json == ["detail": "No encontrado.", "code": "not_found"])
            #expect(res.headers.contentType == .json)
        }
    }

    @Test("a known path with another method is 405 with Allow")
    func methodNotAllowed() async throws {
        try await withApp { t in
            let res = try await t.send(.DELETE, "/api/token/")
            #expect(res.status == .methodNotAllowed)
            #expect(res.json == ["detail": "Método \"DELETE\" no permitido.", "code": "method_not_allowed"])
            #expect(res.headers.first(name: .allow) == "POST, OPTIONS")
            let put = try await t.send(.PUT, "/api/roles/")
            #expect(put.status == .methodNotAllowed)
        }
    }

    @Test("OPTIONS on a known path answers 200 with Allow")
    func options() async throws {
        try await withApp { t in
            let res = try await t.send(.OPTIONS, "/api/usuarios/7/")
            #expect(res.status == .ok)
            #expect(res.headers.first(name: .allow) == "GET, PUT, PATCH, DELETE, OPTIONS")
        }
    }

    @Test("paths are served with and without the trailing slash, no redirect")
    func trailingSlash() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            for path in ["/api/auth/me/", "/api/auth/me", "/api/usuarios", "/api/usuarios/"] {
                let res = try await t.send(.GET, path, token: token)
                #expect(res.status == .ok, "\(path)")
            }
            let login = try await t.send(.POST, "/api/token", json: ["email": "x@example.com", "password": "y"])
            #expect(login.status == .unauthorized)  // the body arrived: no 301 lost it
        }
    }

    @Test("X-Request-ID: a well-formed client id is echoed, anything else replaced by a UUID")
    func requestID() async throws {
        try await withApp { t in
            var res = try await t.send(.GET, "/healthz", headers: ["X-Request-ID": "abc.DEF_123-x"])
            #expect(res.headers.first(name: "X-Request-ID") == "abc.DEF_123-x")
            for bad in ["tiene espacios", String(repeating: "a", count: 129), "<script>", "ñandú"] {
                res = try await t.send(.GET, "/healthz", headers: ["X-Request-ID": bad])
                let id = try #require(res.headers.first(name: "X-Request-ID"))
                #expect(id != bad)
                #expect(UUID(uuidString: id) != nil)
            }
            res = try await t.send(.GET, "/no-existe")
            #expect(UUID(uuidString: res.headers.first(name: "X-Request-ID") ?? "") != nil)
        }
    }

    @Test("malformed JSON is 400 parse_error; a non-object body is a non_field_error")
    func malformedJSON() async throws {
        try await withApp { t in
            for body in ["{\"email\": ", "{'a': 1}", "nul", "[1,2", "{\"a\":1}}"] {
                let res = try await t.send(.POST, "/api/token/", body: body, headers: ["Content-Type": "application/json"])
                #expect(res.status == .badRequest, "\(body)")
                #expect(res.json == ["detail": "JSON mal formado.", "code": "parse_error"])
            }
            let res = try await t.send(.POST, "/api/token/", body: "42", headers: ["Content-Type": "application/json"])
            #expect(res.json == ["non_field_errors": ["Datos inválidos. Se esperaba un diccionario pero es un int."]])
        }
    }

    @Test("deeply nested JSON is refused with 400, not a crash")
    func deepNesting() async throws {
        try await withApp { t in
            let body = "{\"email\":" + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000) + "}"
            let res = try await t.send(.POST, "/api/token/", body: body, headers: ["Content-Type": "application/json"])
            #expect(res.status == .badRequest)
            #expect(res.json["code"] == "parse_error")
        }
    }

    @Test("a body that is not JSON is 415 unsupported_media_type")
    func unsupportedMediaType() async throws {
        try await withApp { t in
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                let res = try await t.send(.POST, "/api/token/", body: "email=a", headers: ["Content-Type": type])
                #expect(res.status == .unsupportedMediaType)
                #expect(res.json["code"] == "unsupported_media_type")
                #expect(res.json["detail"].string?.hasPrefix("Tipo de medio \"") == true)
            }
            let missing = try await t.send(.POST, "/api/token/", body: "{}")
            #expect(missing.status == .unsupportedMediaType)
        }
    }

    @Test("a JSON body over 1 MB is 413 request_too_large")
    func bodyTooLarge() async throws {
        try await withApp { t in
            let big = "{\"email\":\"" + String(repeating: "a", count: 1_100_000) + "\"}"
            let res = try await t.send(.POST, "/api/token/", body: big, headers: ["Content-Type": "application/json"])
            #expect(res.status == .payloadTooLarge)
            #expect(res.json["code"] == "request_too_large")
        }
    }

    @Test("an Accept header without JSON is 406 not_acceptable")
    func notAcceptable() async throws {
        try await withApp { t in
            let res = try await t.send(.GET, "/api/roles/", headers: ["Accept": "text/html"])
            #expect(res.status == .notAcceptable)
            #expect(res.json["code"] == "not_acceptable")
            for accept in ["application/json", "*/*", "text/html, application/*;q=0.5", "application/json; charset=utf-8"] {
                let ok = try await t.send(.GET, "/api/roles/", headers: ["Accept": accept])
                #expect(ok.status == .unauthorized, "\(accept)")  // got past negotiation
            }
        }
    }

    @Test("every response carries the security headers; HSTS only in production")
    func securityHeaders() async throws {
        try await withApp { t in
            let res = try await t.send(.GET, "/api/no-existe/")
            #expect(res.headers.first(name: "X-Content-Type-Options") == "nosniff")
            #expect(res.headers.first(name: "Referrer-Policy") == "same-origin")
            #expect(res.headers.first(name: "X-Frame-Options") == "DENY")
            #expect(res.headers.first(name: "Strict-Transport-Security") == nil)
        }
        try await withApp(["APP_ENV": "production", "SECRET_KEY": String(repeating: "Xy7-prod-key-", count: 5)]) { t in
            let res = try await t.send(.GET, "/healthz")
            #expect(res.headers.first(name: "Strict-Transport-Security")?.hasPrefix("max-age=") == true)
        }
    }

    @Test("CORS: allowed origins get credentials and preflight answers, others get no CORS headers")
    func cors() async throws {
        try await withApp(["CORS_ALLOWED_ORIGINS": "http://localhost:5173, https://app.example.com"]) { t in
            var res = try await t.send(.OPTIONS, "/api/token/", headers: [
                "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-csrftoken",
            ])
            #expect(res.status == .ok)
            #expect(res.headers.first(name: .accessControlAllowOrigin) == "https://app.example.com")
            #expect(res.headers.first(name: .accessControlAllowCredentials) == "true")
            #expect(res.headers.first(name: .accessControlAllowMethods)?.contains("PATCH") == true)
            #expect(res.headers.first(name: .accessControlAllowHeaders)?.contains("x-csrftoken") == true)
            res = try await t.send(.GET, "/healthz", headers: ["Origin": "http://localhost:5173"])
            #expect(res.headers.first(name: .accessControlAllowOrigin) == "http://localhost:5173")
            #expect(res.headers.first(name: .accessControlExpose)?.contains("X-Request-ID") == true)
            for origin in ["https://evil.example.com", "null", "http://localhost:5174"] {
                res = try await t.send(.OPTIONS, "/api/token/", headers: ["Origin": origin, "Access-Control-Request-Method": "POST"])
                #expect(res.headers.first(name: .accessControlAllowOrigin) == nil)
                #expect(res.headers.first(name: .accessControlAllowCredentials) == nil)
                res = try await t.send(.GET, "/healthz", headers: ["Origin": origin])
                #expect(res.headers.first(name: .accessControlAllowOrigin) == nil)
            }
        }
    }

    @Test("ids out of range or not numbers are 404, never 500")
    func idsOutOfRange() async throws {
        try await withApp { t in
            let (_, token) = try await t.userWithToken(.admin)
            for id in ["9223372036854775808", "99999999999999999999999", "-1", "abc", "1.5", "0", "%00"] {
                let res = try await t.send(.GET, "/api/usuarios/\(id)/", token: token)
                #expect(res.status == .notFound, "\(id)")
                #expect(res.json["code"] == "not_found")
            }
        }
    }

    @Test("/healthz answers; /readyz checks the database")
    func health() async throws {
        try await withApp { t in
            #expect(try await t.send(.GET, "/healthz").json == ["status": "ok"])
            let ready = try await t.send(.GET, "/readyz")
            #expect(ready.status == .ok)
            // With Redis configured (CI's PostgreSQL + Redis pass) it is checked and reported too.
            #expect(ready.json == (TestRedis.configuredURL == nil ? ["status": "ok", "database": "ok"]
                                                                   : ["status": "ok", "database": "ok", "redis": "ok"]))
        }
    }

    @Test("with the database unreachable, /readyz and API calls are 503 with Retry-After")
    func databaseDown() async throws {
        let settings = try Settings.load(from: [
            "APP_ENV": "testing", "SECRET_KEY": testSecretKey, "DATABASE_URL": "postgres://nadie:x@127.0.0.1:9/nada",
            "DATA_DIR": FileManager.default.temporaryDirectory.appendingPathComponent("down-\(UUID())").path,
        ])
        let app = try await Application.make(.testing)
        do {
            app.logger.logLevel = .critical
            try await configure(app, settings: settings)
            try await checkUnavailable(TestApp(app: app, dataDir: settings.dataDir))
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }

    private func checkUnavailable(_ t: TestApp) async throws {
        let ready = try await t.send(.GET, "/readyz")
        #expect(ready.status == .serviceUnavailable)
        #expect(ready.json["code"] == "service_unavailable")
        #expect(ready.headers.first(name: "Retry-After") != nil)
        let login = try await t.send(.POST, "/api/token/", json: ["email": "a@example.com", "password": "Algo-Largo-123"])
        #expect(login.status == .serviceUnavailable)
        #expect(login.json["code"] == "service_unavailable")
        #expect(login.headers.first(name: "Retry-After") != nil)
    }
}
