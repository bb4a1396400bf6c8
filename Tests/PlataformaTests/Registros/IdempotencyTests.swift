import Fluent
import Foundation
import NIOCore
import NIOPosix
import Testing
import Vapor
@testable import Plataforma

/// The claim of an `Idempotency-Key` lives exactly as long as the request that made it (SPEC §5, §8).
@Suite("Idempotency-Key claims end with their request", .serialized)
struct IdempotencyTests {
    private func post(_ live: TestApp.Live, _ s: HoursSetup, key: String, timeout: TimeAmount = .seconds(60)) async throws -> TestApp.RawResponse {
        try await live.send(.POST, "/api/registro-horas/", token: s.token, json: s.body(), headers: ["Idempotency-Key": key],
                            timeout: timeout)
    }

    /// Waits until a request of `t` holds `key` and waits inside its write transaction.
    private func waitUntilInFlight(_ t: TestApp, _ s: HoursSetup, key: String) async throws {
        let user = try #require(s.mentor.$usuario.id)
        #expect(try await eventually { t.app.idempotencyClaims.isClaimed(userID: user, key: key) })
        if TestDatabase.isPostgres { #expect(try await eventually { try await blockedBackend(t) != nil }) }
    }

    @Test("a duplicate of a request still running is 409, on this replica and on another; once the first commits, the retry replays it")
    func duplicateWhileRunning() async throws {
        try await withApp(["DATABASE_APPLICATION_NAME": uniqueApplicationName()]) { t in
            let s = try await HoursSetup.make(t)
            try await t.live { live in
                let (first, duplicates) = try await whileMentorLocked(t, mentorID: try s.mentor.requireID()) {
                    let first = Task { try await post(live, s, key: "en-vuelo") }
                    try await waitUntilInFlight(t, s, key: "en-vuelo")
                    var duplicates = [try await post(live, s, key: "en-vuelo")]
                    // Another replica sees the claim too (PostgreSQL; SQLite is one process by design).
                    if TestDatabase.isPostgres {
                        try await withSecondApp(sharing: t) { replica in
                            duplicates.append(try await replica.live { try await post($0, s, key: "en-vuelo") })
                        }
                    }
                    return (first, duplicates)
                }
                for duplicate in duplicates {
                    #expect(duplicate.status == .conflict)
                    #expect(duplicate.body["code"] == "idempotency_in_progress")
                }
                let created = try await first.value
                #expect(created.status == .created)
                let retry = try await post(live, s, key: "en-vuelo")
                #expect(retry.status == .created)
                #expect(retry.body == created.body)
                #expect(retry.headers.first(name: "Idempotent-Replayed") == "true")
            }
            #expect(try await RegistroHoras.query(on: t.db).count() == 1)
        }
    }

    @Test("a request left running by a process that died does not block its retry on another replica: written once")
    func abandonedByDeadProcess() async throws {
        try await withApp(["DATABASE_APPLICATION_NAME": uniqueApplicationName()]) { t in
            let s = try await HoursSetup.make(t)
            let retryOnReplica = { @Sendable () async throws -> TestApp.RawResponse in
                try await withSecondApp(sharing: t) { replica in try await replica.live { try await post($0, s, key: "huerfana") } }
            }
            try await t.live { live in
                if TestDatabase.isPostgres {
                    // The process dies: its connection goes, and the transaction holding the claim with it.
                    let died = try await whileMentorLocked(t, mentorID: try s.mentor.requireID()) {
                        let abandoned = Task { try await post(live, s, key: "huerfana") }
                        try await waitUntilInFlight(t, s, key: "huerfana")
                        try await terminateBackend(t, pid: try #require(try await blockedBackend(t)))
                        return try await abandoned.value
                    }
                    #expect(died.status == .serviceUnavailable)
                    let retry = try await retryOnReplica()
                    #expect(retry.status == .created, "\(retry.status) \(retry.body)")
                } else {
                    // SQLite: the first process is stuck (as good as dead to its client); the restarted one takes the retry.
                    let (abandoned, retry) = try await whileMentorLocked(t, mentorID: try s.mentor.requireID()) {
                        let abandoned = Task { try await post(live, s, key: "huerfana") }
                        try await waitUntilInFlight(t, s, key: "huerfana")
                        return (abandoned, try await retryOnReplica())
                    }
                    #expect(retry.status == .created, "\(retry.status) \(retry.body)")
                    // When the stuck request finally runs, it finds the replica's answer instead of writing again.
                    let late = try await abandoned.value
                    #expect(late.status == .created)
                    #expect(late.headers.first(name: "Idempotent-Replayed") == "true")
                }
            }
            #expect(try await RegistroHoras.query(on: t.db).count() == 1)
            #expect(try await IdempotencyRecord.query(on: t.db).count() == 1)
        }
    }

    @Test("a request that failed because PostgreSQL went away leaves its key free: the retry writes the record, once",
          .enabled(if: TestDatabase.isPostgres))
    func databaseLostMidRequest() async throws {
        guard let url = TestDatabase.postgresURL else { return }
        let (proxy, proxied) = try await PostgresProxy.start(for: url)
        defer { Task { await proxy.stop() } }
        try await withApp(["DATABASE_URL": proxied, "DATABASE_CONNECT_TIMEOUT": "2",
                           "DATABASE_APPLICATION_NAME": uniqueApplicationName()]) { t in
            let s = try await HoursSetup.make(t)
            try await t.live { live in
                let lost = try await whileMentorLocked(t, mentorID: try s.mentor.requireID()) {
                    let lost = Task { try await post(live, s, key: "caida") }
                    try await waitUntilInFlight(t, s, key: "caida")
                    try await proxy.set(.refuse)
                    await proxy.cutAll()
                    return try await lost.value
                }
                #expect(lost.status == .serviceUnavailable)
                // Retried while the database is still away: 503 again, never 409.
                let early = try await post(live, s, key: "caida")
                #expect(early.status == .serviceUnavailable)
                try await proxy.set(.forward)
                let retry = try await post(live, s, key: "caida")
                #expect(retry.status == .created, "\(retry.status) \(retry.body)")
                #expect(try await post(live, s, key: "caida").headers.first(name: "Idempotent-Replayed") == "true")
            }
            #expect(try await RegistroHoras.query(on: t.db).count() == 1)
        }
        await proxy.stop()
    }

    @Test("a client that disconnects in the middle of a write: the write completes once, and its retry replays it")
    func clientGoneMidWrite() async throws {
        try await withApp(["DATABASE_APPLICATION_NAME": uniqueApplicationName()]) { t in
            let s = try await HoursSetup.make(t)
            try await t.live { live in
                try await whileMentorLocked(t, mentorID: try s.mentor.requireID()) {
                    let body = try JSONEncoder().encode(s.body())
                    let request = "POST /api/registro-horas/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(s.token)\r\n"
                        + "Idempotency-Key: se-fue\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
                    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                        .connect(host: "127.0.0.1", port: live.port).get()
                    var buffer = ByteBuffer(string: request)
                    buffer.writeBytes(body)
                    try await channel.writeAndFlush(buffer)
                    try await waitUntilInFlight(t, s, key: "se-fue")
                    try await channel.close()
                }
                let user = try #require(s.mentor.$usuario.id)
                // The abandoned request still ends (committed, or not at all), and lets go of its key.
                #expect(try await eventually { !t.app.idempotencyClaims.isClaimed(userID: user, key: "se-fue") })
                let retry = try await post(live, s, key: "se-fue")
                #expect(retry.status == .created, "\(retry.status) \(retry.body)")
            }
            #expect(try await RegistroHoras.query(on: t.db).count() == 1)
        }
    }

    @Test("a refused request is stored as refused: the retry gets the same 400 without running the rules again")
    func refusalIsStored() async throws {
        try await withApp { t in
            let s = try await HoursSetup.make(t)
            let bad = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("10:00", "09:00"),
                                       headers: ["Idempotency-Key": "mal"])
            #expect(bad.status == .badRequest)
            // Stored with the refusal; nothing else of the request was written.
            #expect(try await IdempotencyRecord.query(on: t.db).filter(\.$clave == "mal").first()?.status == 400)
            #expect(try await RegistroHoras.query(on: t.db).count() == 0)
            let again = try await t.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("10:00", "09:00"),
                                         headers: ["Idempotency-Key": "mal"])
            #expect(again.status == .badRequest)
            #expect(again.json == bad.json)
            #expect(again.headers.first(name: "Idempotent-Replayed") == "true")
        }
    }
}
