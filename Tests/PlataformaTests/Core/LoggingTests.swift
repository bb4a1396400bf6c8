import Foundation
import Logging
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

    @Test("JSON lines: valid JSON, keys sorted, quotes and control characters escaped, UTC timestamps with milliseconds; flushed in order")
    func jsonLines() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let writer = LogWriter(fileDescriptor: fds[1])
        var handler = JSONLogHandler(label: "prueba", level: .info, writer: writer)
        handler[metadataKey: "request-id"] = "r-1"
        let logger = Logger(label: "prueba") { _ in handler }
        logger.info("hola \"mundo\"\n\t\u{01}ñ", metadata: ["b": "2", "a": .stringConvertible(1), "ruta": "/api/x?y=\\z"])
        for index in 0..<200 { logger.warning("línea \(index)") }
        writer.flush()
        close(fds[1])
        let data = FileHandle(fileDescriptor: fds[0]).readDataToEndOfFile()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 201)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String])
        #expect(first == ["a": "1", "b": "2", "level": "info", "logger": "prueba", "msg": "hola \"mundo\"\n\t\u{01}ñ",
                          "request-id": "r-1", "ruta": "/api/x?y=\\z", "ts": first["ts"] ?? ""])
        #expect(lines[0].hasPrefix(#"{"a":"1","b":"2","level":"info","logger":"prueba","msg":"hola \"mundo\"\n\t\u0001ñ","#))
        let ts = try #require(first["ts"])
        #expect(ts.count == 24 && ts.hasSuffix("Z") && ts.dropFirst(10).hasPrefix("T"))
        let parsed = ISO8601DateFormatter()
        parsed.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let when = try #require(parsed.date(from: ts))
        #expect(abs(when.timeIntervalSinceNow) < 60)
        #expect(lines.last.map(String.init)?.contains(#""msg":"línea 199""#) == true)
        #expect(JSONLogHandler.timestamp(year: 2026, month: 1, day: 2, hour: 3, minute: 4, second: 5, millisecond: 6)
                == "2026-01-02T03:04:05.006Z")
    }
}
