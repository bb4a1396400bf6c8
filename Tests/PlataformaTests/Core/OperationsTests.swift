import Fluent
import Foundation
import SQLKit
import Testing
import Vapor
@testable import Plataforma

/// `/metrics` reads one process-wide registry, so these run one at a time.
@Suite("Prometheus /metrics and Sentry", .serialized)
struct OperationsTests {
    @Test("/metrics: request counts and latency histograms by route template and status, database and business figures")
    func prometheus() async throws {
        try await withApp { t in
            let (_, admin) = try await t.userWithToken(.admin)
            let s = try await HoursSetup.make(t)
            try await t.makeRegistro(mentor: s.mentor, proyecto: s.project, fecha: "2025-03-03", inicio: "09:00", fin: "11:30", estado: .aprobado)
            #expect(try await t.send(.GET, "/api/roles/", token: admin).status == .ok)
            #expect(try await t.send(.GET, "/api/mentores/999999/", token: admin).status == .notFound)
            #expect(try await t.send(.POST, "/api/conocimientos/", token: admin, json: ["nombre": "SQL"]).status == .created)
            let res = try await t.send(.GET, "/metrics")
            #expect(res.status == .ok)
            #expect(res.headers.first(name: .contentType)?.hasPrefix("text/plain; version=0.0.4") == true)
            let lines = res.body.string.split(separator: "\n").map(String.init)
            func has(_ name: String, _ labels: [String]) -> Bool {
                lines.contains { $0.hasPrefix(name + "{") && labels.allSatisfy($0.contains) }
            }
            #expect(has("http_requests_total", [#"path="/api/roles""#, #"status="200""#, #"method="GET""#]))
            #expect(has("http_requests_total", [#"path="/api/mentores/:id""#, #"status="404""#]))  // the template, not the id
            #expect(has("http_request_duration_seconds_bucket", [#"path="/api/roles""#, #"le="0.005""#]))
            #expect(has("plataforma_db_transaction_seconds_bucket", []))
            #expect(lines.contains("plataforma_proyectos_activos 1.0") || lines.contains("plataforma_proyectos_activos 1"))
            #expect(lines.contains { $0.hasPrefix(#"plataforma_horas{estado="aprobado"} 2.5"#) })
            #expect(lines.contains { $0.hasPrefix(#"plataforma_mentores{estado="activo"} 1"#) })
        }
    }

    @Test("/metrics is for loopback and trusted proxies' own addresses, or METRICS_TOKEN; a client behind nginx is refused")
    func prometheusAccess() async throws {
        try await withApp(["TRUSTED_PROXIES": "127.0.0.1", "METRICS_TOKEN": "token-de-metricas-0123456789"]) { t in
            #expect(try await t.send(.GET, "/metrics").status == .ok)  // loopback, no proxy header
            let outside: HTTPHeaders = ["X-Forwarded-For": "203.0.113.9"]
            let refused = try await t.send(.GET, "/metrics", headers: outside)
            #expect(refused.status == .forbidden && refused.json["code"] == "permission_denied")
            #expect(try await t.send(.GET, "/metrics", token: "otro-token", headers: outside).status == .forbidden)
            #expect(try await t.send(.GET, "/metrics", token: "token-de-metricas-0123456789", headers: outside).status == .ok)
        }
    }

    @Test("5xx and unhandled errors reach Sentry as envelopes with request id, route and user; secrets scrubbed; 4xx do not")
    func sentry() async throws {
        let (receiver, port) = try await FakeSentry.start()
        defer { Task { await receiver.stop() } }
        try await withApp(["SENTRY_DSN": "http://clave-publica@127.0.0.1:\(port)/42"]) { t in
            let (admin, token) = try await t.userWithToken(.admin)
            #expect(try await t.send(.GET, "/api/conocimientos/999999/", token: token).status == .notFound)
            #expect(try await t.send(.POST, "/api/conocimientos/", token: token, json: ["nombre": ""]).status == .badRequest)
            // Pull the table out from under the app: the next read is an unhandled database error.
            let sql = try #require(t.db as? any SQLDatabase)
            try await sql.raw("ALTER TABLE conocimientos RENAME TO conocimientos_fuera").run()
            let headers: HTTPHeaders = ["Cookie": "sessionid=galleta-secreta; csrftoken=csrf-secreto", "X-Request-ID": "req-sentry-0001"]
            let failed = try await t.send(.GET, "/api/conocimientos/?search=x&token=abc123secreto&password=clave-plana", token: token, headers: headers)
            #expect(failed.status == .internalServerError)
            #expect(failed.json == ["detail": "Error interno del servidor.", "code": "server_error"])

            let envelopes = try await receiver.waitFor(1)
            try await Task.sleep(for: .milliseconds(300))
            #expect(receiver.envelopes.count == 1, "the 404 and the 400 are not reported")
            let envelope = try #require(envelopes.first)
            #expect(envelope.path == "/api/42/envelope/")
            #expect(envelope.contentType == "application/x-sentry-envelope")
            #expect(envelope.auth.contains("sentry_key=clave-publica") && envelope.auth.contains("sentry_version=7"))
            let lines = envelope.body.split(separator: "\n").map(String.init)
            #expect(lines.count == 3)
            let header = try JSONDecoder().decode(JSONValue.self, from: Data(lines[0].utf8))
            let item = try JSONDecoder().decode(JSONValue.self, from: Data(lines[1].utf8))
            let event = try JSONDecoder().decode(JSONValue.self, from: Data(lines[2].utf8))
            #expect(item["type"] == "event" && item["length"].int == lines[2].utf8.count)
            #expect(header["event_id"] == event["event_id"] && event["event_id"].string?.count == 32)
            #expect(event["tags"]["request_id"] == "req-sentry-0001" && event["tags"]["route"] == "/api/conocimientos")
            #expect(event["tags"]["status"] == "500" && event["level"] == "error")
            #expect(event["user"]["id"] == .string("\(admin.id ?? 0)"))
            #expect(event["request"]["headers"]["authorization"] == "[Filtered]" && event["request"]["headers"]["cookie"] == "[Filtered]")
            #expect(event["request"]["query_string"].string?.contains("token=[Filtered]") == true)
            #expect(event["exception"]["values"][0]["type"].string?.isEmpty == false)
            for secret in [token, "galleta-secreta", "csrf-secreto", "abc123secreto", "clave-plana"] {
                #expect(!envelope.body.contains(secret), "\(secret.prefix(12)) leaked")
            }
        }
    }

    @Test("a bad SENTRY_DSN stops the start; the DSN's key never appears in the message")
    func badDSN() throws {
        for dsn in ["ftp://clave@host/1", "https://host/1", "https://clave@host/proyecto", "nada"] {
            do {
                _ = try Settings.load(from: ["SENTRY_DSN": dsn, "DATA_DIR": "/tmp/plataforma-sentry-dsn-test"])
                Issue.record("\(dsn) was accepted")
            } catch {
                #expect(String(describing: error).contains("SENTRY_DSN") && !String(describing: error).contains("clave"))
            }
        }
        #expect(SentryDSN("https://k@o1.ingest.sentry.io/123")?.envelopeURL == "https://o1.ingest.sentry.io/api/123/envelope/")
        #expect(SentryDSN("http://k@127.0.0.1:9000/sub/7")?.envelopeURL == "http://127.0.0.1:9000/sub/api/7/envelope/")
    }
}
