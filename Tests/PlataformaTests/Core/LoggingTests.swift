import Foundation
import Testing
import Vapor
import VaporTesting
@testable import Plataforma

@Suite("Request logs")
struct LoggingTests {
    @Test("one structured line per request: method, route template, status, duration, request id, user id")
    func oneLinePerRequest() async throws {
        LogCapture.install()
        try await withApp(["LOG_LEVEL": "info"]) { t in
            t.app.logger.logLevel = .info
            let (user, token) = try await t.userWithToken(.admin)
            let id = "log-\(UUID().uuidString)"
            let res = try await t.send(.GET, "/api/usuarios/\(try user.requireID())/", token: token, headers: ["X-Request-ID": id])
            #expect(res.status == .ok)
            let lines = LogCapture.shared.records { $0.metadata["request-id"] == id && $0.message == "request" }
            #expect(lines.count == 1)
            let line = try #require(lines.first)
            #expect(line.level == .info)
            #expect(line.metadata["method"] == "GET")
            #expect(line.metadata["route"] == "/api/usuarios/:id")
            #expect(line.metadata["status"] == "200")
            #expect(line.metadata["user_id"] == String(try user.requireID()))
            #expect(Double(line.metadata["duration_ms"] ?? "") != nil)
            #expect(line.metadata.values.allSatisfy { !$0.contains(token) })

            let failed = "fail-\(UUID().uuidString)"
            _ = try await t.send(.POST, "/api/token/", json: ["email": "x@example.com", "password": "secreta-123"],
                                 headers: ["X-Request-ID": failed])
            let records = LogCapture.shared.records { $0.metadata["request-id"] == failed }
            #expect(records.contains { $0.message == "request" && $0.metadata["status"] == "401" })
            #expect(records.allSatisfy { record in !record.metadata.values.contains { $0.contains("secreta-123") } })
        }
    }
}
