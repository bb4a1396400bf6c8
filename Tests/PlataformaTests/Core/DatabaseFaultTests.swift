import AsyncHTTPClient
import Foundation
import NIOCore
import SQLKit
import Testing
import Vapor
@testable import Plataforma

/// Runs `body` with an app that reaches PostgreSQL through a `PostgresProxy`, whose faults the
/// test switches on and off. The proxy forwards again before the app is torn down.
private func withProxiedApp(_ overrides: [String: String] = [:],
                            _ body: (TestApp, PostgresProxy) async throws -> Void) async throws {
    guard let url = TestDatabase.postgresURL else { return }
    let (proxy, proxied) = try await PostgresProxy.start(for: url)
    var environment = ["DATABASE_URL": proxied, "DATABASE_POOL_SIZE": "4", "DATABASE_POOL_TIMEOUT": "10",
                       "DATABASE_CONNECT_TIMEOUT": "2", "DATABASE_APPLICATION_NAME": uniqueApplicationName()]
    for (key, value) in overrides { environment[key] = value }
    do {
        try await withApp(environment) { t in
            do {
                try await body(t, proxy)
            } catch {
                try? await proxy.set(.forward)
                throw error
            }
            try await proxy.set(.forward)
        }
    } catch {
        await proxy.stop()
        throw error
    }
    await proxy.stop()
}

/// What a request must answer while the database is unreachable (SPEC §2): 503, fast.
private func expectUnavailable(_ response: TestApp.RawResponse, after elapsed: Duration,
                               sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.status == .serviceUnavailable, sourceLocation: sourceLocation)
    #expect(response.body["code"] == "service_unavailable", sourceLocation: sourceLocation)
    #expect(response.headers.first(name: "Retry-After") != nil, sourceLocation: sourceLocation)
    // The pool timeout is 10 s and the connect timeout 2 s: an answer within 6 s waited for neither
    // in full more than once (it is a bound on waiting, not a speed measurement).
    #expect(elapsed < .seconds(6), "answered after \(elapsed)", sourceLocation: sourceLocation)
}

@Suite("PostgreSQL faults: the pool recovers by itself", .enabled(if: TestDatabase.isPostgres), .serialized)
struct DatabaseFaultTests {
    @Test("PostgreSQL gone (refused, connections cut): 503 at once with Retry-After, /readyz too; the first request after it is back succeeds")
    func serverGone() async throws {
        try await withProxiedApp { t, proxy in
            let (_, token) = try await t.userWithToken(.admin)
            try await t.live { live in
                #expect(try await live.send(.GET, "/api/mentores/", token: token).status == .ok)
                try await proxy.set(.refuse)
                await proxy.cutAll()
                for _ in 0..<4 {
                    let (response, elapsed) = try await live.timed(.GET, "/api/mentores/", token: token)
                    expectUnavailable(response, after: elapsed)
                }
                // Eight at once: none waits for the pool timeout either.
                let started = ContinuousClock.now
                let burst = try await withThrowingTaskGroup(of: TestApp.RawResponse.self) { group in
                    for _ in 0..<8 { group.addTask { try await live.send(.GET, "/api/mentores/", token: token) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(burst.allSatisfy { $0.status == .serviceUnavailable })
                #expect(started.duration(to: .now) < .seconds(6))
                let (ready, readyElapsed) = try await live.timed(.GET, "/readyz")
                expectUnavailable(ready, after: readyElapsed)
                #expect(ready.body["database"] == "error")
                #expect(t.app.postgresPool?.snapshot.reachable == false)

                try await proxy.set(.forward)
                // No pause: the very first request after the server is back is served.
                #expect(try await live.send(.GET, "/api/mentores/", token: token).status == .ok)
                #expect(try await live.send(.GET, "/readyz").status == .ok)
                #expect(t.app.postgresPool?.snapshot.reachable == true)
            }
        }
    }

    @Test("a server that accepts connections and never answers: 503 within the connect timeout, one probe at a time")
    func serverHangs() async throws {
        try await withProxiedApp(["DATABASE_CONNECT_TIMEOUT": "1"]) { t, proxy in
            let (_, token) = try await t.userWithToken(.admin)
            try await t.live { live in
                #expect(try await live.send(.GET, "/api/mentores/", token: token).status == .ok)
                try await proxy.set(.hang)
                await proxy.cutAll()
                let started = ContinuousClock.now
                let responses = try await withThrowingTaskGroup(of: TestApp.RawResponse.self) { group in
                    for _ in 0..<6 { group.addTask { try await live.send(.GET, "/api/mentores/", token: token) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                let elapsed = started.duration(to: .now)
                #expect(responses.allSatisfy { $0.status == .serviceUnavailable }, "\(responses.map(\.status.code))")
                #expect(elapsed < .seconds(6), "answered after \(elapsed)")
                // The attempts started before the server was known down end within the connect timeout...
                #expect(try await eventually(timeout: .seconds(3)) { (t.app.postgresPool?.snapshot.opening ?? 0) <= 1 })
                // ...and from then on requests are answered at once, with at most one attempt pending.
                let again = try await withThrowingTaskGroup(of: (TestApp.RawResponse, Duration).self) { group in
                    for _ in 0..<5 { group.addTask { try await live.timed(.GET, "/api/mentores/", token: token) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                for (response, elapsed) in again { expectUnavailable(response, after: elapsed) }
                #expect((t.app.postgresPool?.snapshot.opening ?? 0) <= 1)

                try await proxy.set(.forward)
                #expect(try await eventually(timeout: .seconds(5)) {
                    try await live.send(.GET, "/api/mentores/", token: token).status == .ok
                })
            }
        }
    }

    @Test("a server that stops answering mid-statement (hung, or a silent network): 503 after DATABASE_HOLD_TIMEOUT, not a request stuck for ever")
    func serverFreezes() async throws {
        try await withProxiedApp(["DATABASE_CONNECT_TIMEOUT": "1"]) { t, proxy in
            let (_, token) = try await t.userWithToken(.admin)
            t.app.postgresPool?.setHoldTimeout(.seconds(2))
            try await t.live { live in
                #expect(try await live.send(.GET, "/api/mentores/", token: token).status == .ok)
                try await proxy.set(.freeze)
                let (stuck, elapsed) = try await live.timed(.GET, "/api/mentores/", token: token)
                #expect(stuck.status == .serviceUnavailable)
                #expect(stuck.body["code"] == "service_unavailable")
                // 2 s of hold timeout, checked every second; nothing near the client's 60 s.
                #expect(elapsed < .seconds(6), "answered after \(elapsed)")
                let (next, nextElapsed) = try await live.timed(.GET, "/api/mentores/", token: token)
                #expect(next.status == .serviceUnavailable)
                #expect(nextElapsed < .seconds(6), "answered after \(nextElapsed)")
                try await proxy.set(.forward)
                #expect(try await eventually(timeout: .seconds(5)) {
                    try await live.send(.GET, "/api/mentores/", token: token).status == .ok
                })
            }
        }
    }

    @Test("a server answering 'the database system is starting up': 503 at once; served as soon as it accepts")
    func serverStartingUp() async throws {
        try await withProxiedApp { t, proxy in
            let (_, token) = try await t.userWithToken(.admin)
            try await t.live { live in
                #expect(try await live.send(.GET, "/api/mentores/", token: token).status == .ok)
                try await proxy.set(.startingUp)
                await proxy.cutAll()
                // Eight at once, then one by one: none waits for the pool timeout.
                let started = ContinuousClock.now
                let burst = try await withThrowingTaskGroup(of: TestApp.RawResponse.self) { group in
                    for _ in 0..<8 { group.addTask { try await live.send(.GET, "/api/mentores/", token: token) } }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(burst.allSatisfy { $0.status == .serviceUnavailable })
                #expect(started.duration(to: .now) < .seconds(6), "the burst took \(started.duration(to: .now))")
                for _ in 0..<4 {
                    let (response, elapsed) = try await live.timed(.GET, "/api/mentores/", token: token)
                    expectUnavailable(response, after: elapsed)
                }
                #expect(try await live.send(.GET, "/readyz").status == .serviceUnavailable)
                try await proxy.set(.forward)
                #expect(try await live.send(.GET, "/api/mentores/", token: token).status == .ok)
            }
        }
    }

    @Test("a write whose connection is killed (pg_terminate_backend) answers 503 at once, and the pool stays whole")
    func connectionKilledMidWrite() async throws {
        try await withApp(["DATABASE_POOL_SIZE": "2", "DATABASE_POOL_TIMEOUT": "10",
                           "DATABASE_APPLICATION_NAME": uniqueApplicationName()]) { t in
            let s = try await HoursSetup.make(t)
            let mentorID = try s.mentor.requireID()
            try await t.live { live in
                // Twice, so a pool that lost the killed connections (the 2 it has) would be stuck the second time.
                for round in 0..<3 {
                    let first = try await whileMentorLocked(t, mentorID: mentorID) {
                        let write = Task {
                            try await live.timed(.POST, "/api/registro-horas/", token: s.token,
                                                 json: s.body(String(format: "%02d:00", 8 + round), String(format: "%02d:30", 8 + round)))
                        }
                        var pid: Int?
                        _ = try await eventually { pid = try await blockedBackend(t); return pid != nil }
                        try await terminateBackend(t, pid: try #require(pid))
                        return try await write.value
                    }
                    expectUnavailable(first.0, after: first.1)
                }
                let created = try await live.send(.POST, "/api/registro-horas/", token: s.token, json: s.body("12:00", "13:00"))
                #expect(created.status == .created)
                #expect(try await live.send(.GET, "/api/registro-horas/", token: s.token).body["count"] == 1)
                let snapshot = try #require(t.app.postgresPool?.snapshot)
                #expect(snapshot.waiting == 0 && snapshot.leased == 0)
            }
        }
    }

    @Test("/metrics reports the pool, and still answers while PostgreSQL is down")
    func poolMetrics() async throws {
        try await withProxiedApp { t, proxy in
            try await t.live { live in
                let up = try await live.send(.GET, "/metrics")
                #expect(up.status == .ok)
                try await proxy.set(.refuse)
                await proxy.cutAll()
                _ = try await live.send(.GET, "/readyz")
                // The registry is the process's: other tests' apps scrape it too, so look until it shows ours.
                #expect(try await eventually(timeout: .seconds(5)) {
                    let down = try await metricsText(live)
                    return down.contains("plataforma_db_disponible 0") && down.contains(#"plataforma_db_pool_conexiones{estado="libre"}"#)
                })
                try await proxy.set(.forward)
                #expect(try await live.send(.GET, "/readyz").status == .ok)
                #expect(try await eventually(timeout: .seconds(5)) {
                    try await metricsText(live).contains("plataforma_db_disponible 1")
                })
            }
        }
    }

    private func metricsText(_ live: TestApp.Live) async throws -> String {
        let response = try await live.client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(live.port)/metrics"), timeout: .seconds(30))
        #expect(response.status == .ok)
        let body = try await response.body.collect(upTo: 1 << 22)
        return String(buffer: body)
    }
}
